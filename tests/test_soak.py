"""Soak: 64 threads x 2,000 requests through one session, 3 token lifetimes, 2 revocations."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from requests.adapters import HTTPAdapter

from officernd_auth import OfficeRNDSession
from officernd_auth.testing import FakeClock, FakeOfficeRND

THREADS = 64
REQUESTS = 2_000


@pytest.mark.slow
def test_soak(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    session = make_session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=THREADS))
    total = THREADS * REQUESTS
    rng = random.Random(7)
    # Events at points of progress: two new lifetimes (the clock jumps past expiry) and two
    # revocations at random moments in between.
    events = sorted(
        [(total // 3, "expire"), (2 * total // 3, "expire")]
        + [(rng.randrange(total // 20, total - total // 20), "revoke") for _ in range(2)]
    )
    done = 0
    failures: list[str] = []
    lock = threading.Lock()
    progressed = threading.Condition(lock)
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        nonlocal done
        barrier.wait()
        for _ in range(REQUESTS):
            try:
                status = session.get("members", params={"$limit": 1}).status_code
            except Exception as exc:  # any error at all is a failed request
                status = type(exc).__name__  # type: ignore[assignment]
            with progressed:
                done += 1
                if status != 200:
                    failures.append(str(status))
                progressed.notify_all()

    def controller() -> None:
        for at, event in events:
            with progressed:
                progressed.wait_for(lambda at=at: done >= at)
            if event == "expire":
                clock.advance(3600)
            else:
                fake.expire_tokens()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    control = threading.Thread(target=controller)
    control.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    control.join()
    assert failures == []
    assert done == total
    # One token per lifetime (3) plus one per revocation (2), whatever the interleaving.
    assert fake.token_request_count == 5
    assert len(fake.api_requests) >= total
    assert all(record.has_token for record in fake.api_requests)
    unauthorised = sum(1 for record in fake.api_requests if record.status == 401)
    assert len(fake.api_requests) == total + unauthorised  # each 401 re-sent exactly once
