"""The pytest plugin (entry point ``pytest11``): every test starts from a clean slate, and
``officernd_fake`` gives each test a fresh :class:`~officernd_auth.testing.FakeOfficeRND`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..provider import reset
from .emulator import FakeOfficeRND
from .receiver import WebhookReceiver


@pytest.fixture(autouse=True)
def _officernd_auth_isolation() -> Iterator[None]:
    """Before and after every test: no cached token, failure record or spent budget of
    officernd-auth's process-wide state carries over, so tests pass in any order and when
    repeated (tokens a mocked endpoint handed out in one test never answer the next)."""
    reset()
    yield
    reset()


@pytest.fixture
def officernd_fake() -> Iterator[FakeOfficeRND]:
    """A running FakeOfficeRND on 127.0.0.1 with the sample ``acme`` organisation loaded.

    Register an application with ``officernd_fake.add_app(scopes)`` and point a client at
    ``officernd_fake.token_url`` and ``officernd_fake.api_url``.
    """
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        yield fake


@pytest.fixture
def officernd_webhook_receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1: point a webhook at ``.url``, then ``.wait(count)``.

    Every request is kept in ``.received`` (path, lower-case headers, raw body); set
    ``.answer`` to decide each status (e.g. verify the signature and answer 400 on failure).
    """
    with WebhookReceiver() as receiver:
        yield receiver
