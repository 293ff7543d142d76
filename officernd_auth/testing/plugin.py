"""The pytest plugin (entry point ``pytest11``): fixtures offered, nothing imposed.

Installing officernd-auth changes nothing in a test run unless asked: OfficeRND counts token
requests per application, and resetting the token state around every test of every project
would spend one token request per test against the real service. Isolation (a fresh slate of
officernd-auth's process-wide state before and after a test) is had three ways:

* tests that use the ``officernd_fake`` fixture (a fresh emulator, so a fresh slate too);
* tests marked ``@pytest.mark.officernd_isolated``;
* every test, with ``officernd_isolate = true`` in the ini file (``pytest.ini``, or
  ``[tool.pytest.ini_options]`` in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..core.flight import reset
from .emulator import FakeOfficeRND
from .receiver import WebhookReceiver

MARKER = "officernd_isolated"
INI_OPTION = "officernd_isolate"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_OPTION,
        type="bool",
        default=False,
        help="officernd-auth: reset its tokens, failure records and token budgets before and "
        "after every test (default: only for tests that ask)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: reset officernd-auth's tokens, failure records and token budgets before and "
        "after this test",
    )


@pytest.fixture(autouse=True)
def _officernd_auth_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Isolate a test that asks for it (marker or ini option); leave every other test alone."""
    asked = request.node.get_closest_marker(MARKER) is not None or bool(
        request.config.getini(INI_OPTION)
    )
    if not asked:
        yield
        return
    reset()
    yield
    reset()


@pytest.fixture
def officernd_fake() -> Iterator[FakeOfficeRND]:
    """A running FakeOfficeRND on 127.0.0.1 with the sample ``acme`` organisation loaded, and a
    fresh slate of officernd-auth's process-wide state before and after the test.

    Register an application with ``officernd_fake.add_app(scopes)`` and point a client at
    ``officernd_fake.token_url`` and ``officernd_fake.api_url``.
    """
    reset()
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        yield fake
    reset()


@pytest.fixture
def officernd_webhook_receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on 127.0.0.1: point a webhook at ``.url``, then ``.wait(count)``.

    Every request is kept in ``.received`` (path, lower-case headers, raw body); set
    ``.answer`` to decide each status (e.g. verify the signature and answer 400 on failure).
    """
    with WebhookReceiver() as receiver:
        yield receiver
