"""Shared fixtures: an emulator on loopback with a controllable clock, and an app on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.testing import App, FakeClock, FakeOfficeRND

READ_SCOPES = "flex.community.members.read flex.space.bookings.read"
ALL_SCOPES = [
    "flex.community.members.read",
    "flex.community.members.create",
    "flex.community.members.update",
    "flex.community.members.delete",
    "flex.space.bookings.read",
    "flex.space.locations.read",
    "officernd.api.read",
    "officernd.api.write",
]


@pytest.fixture(autouse=True)
def _no_officernd_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real OFFICERND_* settings."""
    for name in (
        "OFFICERND_CLIENT_ID",
        "OFFICERND_CLIENT_SECRET",
        "OFFICERND_SCOPE",
        "OFFICERND_ORG",
        "OFFICERND_TOKEN_URL",
        "OFFICERND_API_URL",
        "OFFICERND_TOKEN_CACHE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeOfficeRND]:
    with FakeOfficeRND(clock=clock) as server:
        server.seed_sample()
        yield server


@pytest.fixture
def app(fake: FakeOfficeRND) -> App:
    return fake.add_app(ALL_SCOPES)


@pytest.fixture
def sleeps() -> list[float]:
    """Records the waits the library asked for instead of sleeping."""
    return []


@pytest.fixture
def make_session(
    fake: FakeOfficeRND, app: App, clock: FakeClock, sleeps: list[float]
) -> Callable[..., OfficeRNDSession]:
    def factory(**overrides: Any) -> OfficeRNDSession:
        options: dict[str, Any] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": READ_SCOPES,
            "org": "acme",
            "token_url": fake.token_url,
            "api_url": fake.api_url,
            "clock": clock,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return OfficeRNDSession(**options)

    return factory


@pytest.fixture
def make_auth(
    fake: FakeOfficeRND, app: App, clock: FakeClock, sleeps: list[float]
) -> Callable[..., OfficeRNDAuth]:
    def factory(**overrides: Any) -> OfficeRNDAuth:
        options: dict[str, Any] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": READ_SCOPES,
            "token_url": fake.token_url,
            "allowed_hosts": [f"{fake.host}:{fake.port}"],
            "clock": clock,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return OfficeRNDAuth(**options)

    return factory
