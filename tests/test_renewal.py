"""No renewal stall: inside the leeway window one thread renews the token while the others go on
sending the still valid one; a failed renewal keeps it; near its expiry everyone waits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.core.provider import RENEWAL_RETRY
from officernd_auth.testing import FakeClock, FakeOfficeRND, Fault

THREADS = 16
LIFETIME = 3599  # the emulator's default, as OfficeRND's
LEEWAY = 60.0  # renewal starts 60 s before expiry; the old token is sent until 15 s before
SLOW = 3.0  # seconds the emulator takes to answer the renewal


def _getter(
    kind: str,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
    fake: FakeOfficeRND,
    **options: object,
) -> Callable[[], requests.Response]:
    if kind == "session":
        session = make_session(leeway=LEEWAY, **options)
        return lambda: session.get("members", params={"$limit": 1})
    http = requests.Session()
    http.auth = make_auth(leeway=LEEWAY, **options)
    url = fake.api_url + "/api/v2/organizations/acme/members"
    return lambda: http.get(url, params={"$limit": 1})


def _together(get: Callable[[], requests.Response]) -> list[tuple[float, int, str | None]]:
    """(seconds, status, token sent) of one call from each of THREADS threads, started at once."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[float, int, str | None]] = []

    def call() -> None:
        barrier.wait()
        started = time.monotonic()
        response = get()
        sent = response.request.headers.get("Authorization")
        results.append((time.monotonic() - started, response.status_code, sent))

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("kind", ["session", "auth"])
def test_inside_the_window_only_the_renewing_thread_waits(
    kind: str,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
    fake: FakeOfficeRND,
    clock: FakeClock,
) -> None:
    get = _getter(kind, make_session, make_auth, fake)
    old = get().request.headers["Authorization"]
    clock.advance(LIFETIME - 30)  # 30 s left: inside the leeway, well before expiry
    fake.fail_next_token_requests(Fault.slow(SLOW))
    results = _together(get)
    assert [status for _, status, _ in results] == [200] * THREADS
    waited = [seconds for seconds, _, _ in results if seconds >= SLOW - 0.5]
    assert len(waited) == 1, sorted(seconds for seconds, _, _ in results)  # the renewer only
    assert sum(1 for _, _, sent in results if sent == old) == THREADS - 1
    assert fake.token_request_count == 2
    assert get().request.headers["Authorization"] != old  # the renewed token from now on
    assert fake.token_request_count == 2


@pytest.mark.parametrize("kind", ["session", "auth"])
def test_a_failed_renewal_inside_the_window_keeps_the_current_token(
    kind: str,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
    fake: FakeOfficeRND,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    get = _getter(kind, make_session, make_auth, fake, max_token_retries=0)
    old = get().request.headers["Authorization"]
    clock.advance(LIFETIME - 30)
    fake.fail_next_token_requests(Fault.server_error(503))
    with caplog.at_level(logging.WARNING, logger="officernd_auth"):
        response = get()
    assert response.status_code == 200
    assert response.request.headers["Authorization"] == old
    assert "going on with the current token, valid for 30 s more" in caplog.text
    assert fake.token_request_count == 2  # the renewal was tried
    assert get().request.headers["Authorization"] == old  # not again at once, on every call
    assert fake.token_request_count == 2
    time.sleep(RENEWAL_RETRY + 0.1)
    assert get().request.headers["Authorization"] != old  # tried again a moment later: it works
    assert fake.token_request_count == 3


def test_near_expiry_every_caller_waits_for_the_new_token(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    get = _getter("session", make_session, lambda **_: None, fake)  # type: ignore[arg-type,return-value]
    old = get().request.headers["Authorization"]
    clock.advance(LIFETIME - 10)  # 10 s left: under a quarter of the leeway
    fake.fail_next_token_requests(Fault.slow(1.0))
    results = _together(get)
    assert [status for _, status, _ in results] == [200] * THREADS
    assert all(seconds >= 0.9 for seconds, _, _ in results)
    assert all(sent != old for _, _, sent in results)
    assert fake.token_request_count == 2
