"""A process serving many tenants (credentials) or hosts stays bounded: one token socket pool per
token endpoint, shared by every credential and thread; expired tokens dropped by time; host
decisions evicted one at a time."""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from officernd_auth import MemoryTokenCache, OfficeRNDAuth, Token, TokenProvider
from officernd_auth.testing import FakeOfficeRND
from officernd_auth.transport import POOL_SIZE

SCOPE = "flex.community.members.read"
TENANTS = 120
THREADS = 8


def open_sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts sockets in /proc (Linux)")
def test_token_sockets_stay_few_whatever_the_number_of_tenants() -> None:
    with FakeOfficeRND(rate_limit=None) as fake:
        apps = [fake.add_app([SCOPE]) for _ in range(TENANTS)]
        before = open_sockets()
        providers = [
            TokenProvider(app.client_id, app.client_secret, SCOPE, token_url=fake.token_url)
            for app in apps
        ]

        def renew(index: int) -> None:
            # each tenant asks from several threads over time, as a service's workers do
            provider = providers[index % TENANTS]
            provider.invalidate()
            provider.get_token()

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(renew, range(3 * TENANTS)))
            assert fake.token_request_count == 3 * TENANTS
            # Counted while the threads and the providers live (a service's do). Both ends are
            # in this process: our pool's client sockets and the emulator's side of them.
            assert open_sockets() - before <= 2 * POOL_SIZE + 2


def test_expired_tokens_leave_the_memory_cache_by_time() -> None:
    cache = MemoryTokenCache()
    now = time.time()
    for index in range(1_000):  # a burst of short-lived tokens, under any size trigger
        cache.set(f"tenant-{index}", Token(f"{index:040x}", now + 0.2, now, frozenset()))
    time.sleep(0.3)
    cache.set("live", Token("f" * 40, now + 3600, now, frozenset()))
    assert len(cache) == 1
    assert cache.get("live") is not None


def test_host_decisions_are_bounded_without_a_cliff(monkeypatch: pytest.MonkeyPatch) -> None:
    import officernd_auth.auth

    auth = OfficeRNDAuth("id", "secret", SCOPE)
    parsed: list[str] = []  # every URL prefix the auth object had to parse to decide
    parse = officernd_auth.auth.origin_of
    monkeypatch.setattr(
        officernd_auth.auth, "origin_of", lambda url: parsed.append(url) or parse(url)
    )
    hosts = [f"https://host-{index}.example/api" for index in range(1_100)]
    for url in hosts:
        assert not auth.allows(url)
    assert len(parsed) == 1_100
    for url in hosts[-1_000:]:  # the most recent thousand are still decided
        assert not auth.allows(url)
    assert len(parsed) == 1_100


def test_idle_budgets_are_swept_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from officernd_auth import policy
    from officernd_auth.testing import FakeClock
    from officernd_auth.urls import origin_url

    monkeypatch.setattr(policy, "PRUNE_EVERY", 0.05)
    clock = FakeClock()
    with FakeOfficeRND(rate_limit=None, clock=clock) as fake:
        apps = [fake.add_app([SCOPE]) for _ in range(101)]
        budgets = []  # weak references to this test's budgets

        def fetch(index: int) -> None:
            app = apps[index]
            TokenProvider(
                app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, clock=clock
            ).get_token()
            budget = policy.budget_for(origin_url(fake.token_url), app.client_id)
            budgets.append(weakref.ref(budget))

        for index in range(100):
            fetch(index)  # each provider is dropped at once; its budget is kept for its window
        gc.collect()
        assert sum(ref() is not None for ref in budgets) == 100
        clock.advance(62)  # past every window: all idle
        time.sleep(0.1)
        fetch(100)
        gc.collect()
        assert sum(ref() is not None for ref in budgets[:100]) == 0  # swept by time
