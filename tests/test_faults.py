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
from officernd_auth.testing import FakeClock, FakeOfficeRND

MEMBERS = "/api/v2/organizations/acme/members"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "fault-matrix.rst"


@pytest.fixture(params=["session", "auth"])
def call(
    request: pytest.FixtureRequest,
    fake: FakeOfficeRND,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
) -> Callable[[], requests.Response]:
    options: dict[str, Any] = {"token_timeout": (2.0, 0.3)}
    if request.param == "session":
        session = make_session(**options)
        return lambda: session.get("members")
    http = requests.Session()
    http.auth = make_auth(**options)
    return lambda: http.get(fake.api_url + MEMBERS, timeout=10)


@pytest.mark.parametrize("phase", ["first-fetch", "renewal"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_fault(
    row: Row,
    phase: str,
    call: Callable[[], requests.Response],
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
