"""One deadline per call: the call's timeout (or token_deadline) bounds every wait for a token,
on every path: cold fetch, the 401 renewal, invalidate, fetch_token and each lock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from officernd_auth import OfficeRNDAuth, OfficeRNDSession, TokenEndpointError
from officernd_auth.testing import FakeOfficeRND, Fault
from officernd_auth.values.deadline import Deadline, wait_bound

#: How long the emulator holds the token request that another thread is waiting for. Each
#: bounded call below must give up well before it (measured: 0.30-0.31 s for a 0.3 s timeout);
#: the assertions leave room for a loaded machine and still tell the two apart.
HELD = 1.5
GIVE_UP_WITHIN = 1.0


@pytest.mark.parametrize(
    ("timeout", "token_deadline", "seconds"),
    [
        (None, 60.0, 60.0),
        ((None, None), 60.0, 60.0),  # requests' "no timeout" is token_deadline's, never 0 s
        (0.3, 60.0, 0.3),
        ((3, 7), 60.0, 10.0),
        ((None, 7), 5.0, 5.0),
        (None, math.inf, math.inf),
    ],
)
def test_a_calls_deadline_is_the_shorter_of_its_timeout_and_token_deadline(
    timeout: Any, token_deadline: float, seconds: float
) -> None:
    deadline = Deadline.for_call(timeout, token_deadline)
    assert deadline.seconds == seconds
    assert deadline.remaining() <= seconds
    assert wait_bound(timeout) >= seconds
    if math.isinf(seconds):
        assert deadline.lock_timeout() == -1  # threading's "no limit"
        assert deadline.allows(1e9)
    else:
        assert 0 <= deadline.lock_timeout() <= seconds
        assert not deadline.allows(seconds + 1)
        assert deadline.bound(100.0, 100.0) <= (seconds, seconds)


def test_an_expired_deadline_still_gives_a_request_a_millisecond() -> None:
    deadline = Deadline(0.0)
    assert deadline.expired()
    assert deadline.bound(5.0, 30.0) == (0.001, 0.001)


@pytest.fixture
def in_flight(fake: FakeOfficeRND) -> Iterator[Callable[[Callable[[], object]], None]]:
    """Start a call on another thread whose token request the emulator holds for HELD s."""
    threads: list[threading.Thread] = []

    def start(call: Callable[[], object]) -> None:
        fake.fail_next_token_requests(Fault.slow(HELD))
        before = fake.token_request_count
        thread = threading.Thread(target=call)
        thread.start()
        threads.append(thread)
        fake.wait_for_token_requests(before + 1)
        assert fake.token_request_count == before + 1

    yield start
    for thread in threads:
        thread.join()


def _seconds(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(TokenEndpointError):
        call()
    return time.monotonic() - started


def test_the_401_renewal_keeps_to_the_calls_timeout(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    assert session.get("members").status_code == 200  # a token, now held
    fake.expire_tokens()  # the API answers it 401 from now on
    fake.fail_next_token_requests(Fault.slow(HELD))  # and the renewal is slow
    assert _seconds(lambda: session.get("members", timeout=0.3)) < GIVE_UP_WITHIN
    assert fake.token_request_count == 2  # one renewal was tried, not a loop


def test_the_auth_objects_401_renewal_keeps_to_the_calls_timeout(
    make_auth: Callable[..., OfficeRNDAuth], fake: FakeOfficeRND
) -> None:
    import requests

    auth = make_auth()
    url = fake.api_url + "/api/v2/organizations/acme/members"
    assert requests.get(url, auth=auth, timeout=10).status_code == 200
    fake.expire_tokens()
    fake.fail_next_token_requests(Fault.slow(HELD))
    assert _seconds(lambda: requests.get(url, auth=auth, timeout=0.3)) < GIVE_UP_WITHIN


def test_invalidate_waits_no_longer_than_its_timeout(
    make_session: Callable[..., OfficeRNDSession],
    in_flight: Callable[[Callable[[], object]], None],
) -> None:
    session = make_session()
    in_flight(lambda: session.get("members"))
    assert _seconds(lambda: session.provider.invalidate(timeout=0.3)) < GIVE_UP_WITHIN


def test_fetch_token_waits_no_longer_than_its_timeout(
    make_session: Callable[..., OfficeRNDSession],
    in_flight: Callable[[Callable[[], object]], None],
    fake: FakeOfficeRND,
) -> None:
    session = make_session()
    in_flight(lambda: session.get("members"))
    assert _seconds(lambda: session.fetch_token(timeout=0.3)) < GIVE_UP_WITHIN
    assert _seconds(lambda: session.provider.fetch_token(timeout=0.3)) < GIVE_UP_WITHIN
    assert fake.token_request_count == 1  # neither sent one of its own


def test_a_file_cache_lock_held_by_another_process_is_waited_for_no_longer_than_the_call(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Any, fake: FakeOfficeRND
) -> None:
    import filelock

    from officernd_auth.cache import FileTokenCache

    cache = FileTokenCache(tmp_path)
    session = make_session(token_cache=cache)
    other_process = filelock.FileLock(str(tmp_path / f"{session.provider.key}.lock"))
    with other_process:  # another process holds the lock (and never stores a token)
        seconds = _seconds(lambda: session.get("members", timeout=0.3))
    assert seconds < GIVE_UP_WITHIN
    assert fake.token_request_count == 0  # nothing sent once the time was up
