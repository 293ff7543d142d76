"""The fault matrix (tests/fault_matrix.py) through both entry points, first fetch and renewal."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from fault_matrix import ROWS, Row, render

from officernd_auth import OfficeRNDAuth, OfficeRNDSession, RateLimitedError
from officernd_auth.testing import App, FakeClock, FakeOfficeRND

MEMBERS = "/api/v2/organizations/acme/members"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "fault-matrix.rst"


@pytest.fixture(params=["session", "auth", "httpx-client", "httpx-async-client"])
def call(
    request: pytest.FixtureRequest,
    fake: FakeOfficeRND,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
) -> Callable[[], Any]:
    options: dict[str, Any] = {"token_timeout": (2.0, 0.3)}
    if request.param == "session":
        session = make_session(**options)
        return lambda: session.get("members")
    if request.param.startswith("httpx"):
        return request.getfixturevalue("httpx_call")(request.param, options)
    http = requests.Session()
    http.auth = make_auth(**options)
    return lambda: http.get(fake.api_url + MEMBERS, timeout=10)


@pytest.fixture
def httpx_call(
    request: pytest.FixtureRequest,
    fake: FakeOfficeRND,
    app: App,
    clock: FakeClock,
    sleeps: list[float],
) -> Callable[[str, dict[str, Any]], Callable[[], Any]]:
    """The same call through an httpx client of ours: the token request then goes over httpx
    (sync, or async on the client's event loop, run by a blocking portal)."""
    from anyio.from_thread import start_blocking_portal

    from officernd_auth.httpx import OfficeRNDClient

    def make(kind: str, options: dict[str, Any]) -> Callable[[], Any]:
        given: dict[str, Any] = {
            "client_id": app.client_id, "client_secret": app.client_secret,
            "scope": "flex.community.members.read flex.space.bookings.read", "org": "acme",
            "api_url": fake.api_url, "token_url": fake.token_url, "clock": clock,
            "sleep": sleeps.append, **options,
        }  # fmt: skip
        if kind == "httpx-client":
            client = OfficeRNDClient(**given)
            request.addfinalizer(client.close)
            return lambda: client.get("members")
        portal_context = start_blocking_portal()
        portal = portal_context.__enter__()
        request.addfinalizer(lambda: portal_context.__exit__(None, None, None))
        aclient = portal.call(_async_client, given)
        request.addfinalizer(lambda: portal.call(aclient.aclose))
        return lambda: portal.call(aclient.get, "members")

    return make


async def _async_client(given: dict[str, Any]) -> Any:
    from officernd_auth.httpx import AsyncOfficeRNDClient

    return AsyncOfficeRNDClient(**given)  # made on the portal's event loop


@pytest.mark.parametrize("phase", ["first-fetch", "renewal"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_fault(
    row: Row,
    phase: str,
    call: Callable[[], Any],
    fake: FakeOfficeRND,
    clock: FakeClock,
) -> None:
    if phase == "renewal":
        assert call().status_code == 200
        clock.advance(3600)  # the token has expired: the next call must renew it
    before = fake.token_request_count
    fake.fail_next_token_requests(row.fault(), row.times)
    started = time.monotonic()
    if row.outcome is None:
        assert call().status_code == 200
    else:
        with pytest.raises(row.outcome) as info:
            call()
        assert type(info.value) is row.outcome
        if row.retry_after is not None:
            assert info.value.retry_after == row.retry_after  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10  # bounded by timeouts: no hang
    assert fake.token_request_count - before == row.token_requests
    assert fake.token_request_count <= 5  # never above OfficeRND's budget in one minute
    fake.clear_faults()
    if row.outcome is RateLimitedError:
        sent = fake.token_request_count
        with pytest.raises(RateLimitedError):
            call()
        assert fake.token_request_count == sent  # refused locally until Retry-After passes
        clock.advance(61)
    assert call().status_code == 200  # the next call after the fault clears succeeds


def test_published_matrix_matches_the_tests() -> None:
    assert DOCS.read_text() == render(), "regenerate: python tests/fault_matrix.py > " + str(DOCS)
