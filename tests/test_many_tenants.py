"""A process serving many tenants (credentials) or hosts stays bounded: one token socket pool per
token endpoint, shared by every credential and thread; idle budgets swept; equal options shared.
(The memory cache, the host decisions, interning and flights have module files of their own.)"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from officernd_auth import RateLimitedError, TokenProvider
from officernd_auth.requests_adapter.transport import POOL_SIZE
from officernd_auth.testing import FakeOfficeRND

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


def test_idle_budgets_are_swept_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import weakref

    from officernd_auth.core import policy
    from officernd_auth.testing import FakeClock
    from officernd_auth.values.urls import origin_url

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
        time.sleep(0.1)  # past PRUNE_EVERY: the sweep is throttled by monotonic time
        fetch(100)
        gc.collect()
        assert sum(ref() is not None for ref in budgets[:100]) == 0  # swept by time


def test_a_live_tenants_idle_budget_is_swept_and_made_again_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc
    import weakref

    from officernd_auth.core import policy
    from officernd_auth.testing import FakeClock
    from officernd_auth.values.urls import origin_url

    clock = FakeClock()
    with FakeOfficeRND(clock=clock) as fake:
        app = fake.add_app([SCOPE])
        provider = TokenProvider(  # kept alive throughout: a tenant the process still serves
            app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, clock=clock,
            token_budget=2, budget_window=60.0,
        )  # fmt: skip
        provider.fetch_token()
        provider.fetch_token()
        budget = weakref.ref(policy.budget_for(origin_url(fake.token_url), app.client_id))
        with pytest.raises(RateLimitedError):  # the budget still counts both
            provider.fetch_token()
        clock.advance(62)  # past the window and its margin
        policy.prune_idle_budgets()
        gc.collect()
        assert budget() is None  # the provider does not hold it
        provider.fetch_token()  # a new budget, counting from here
        provider.fetch_token()
        with pytest.raises(RateLimitedError):
            provider.fetch_token()
        assert fake.token_request_count == 4


def test_tenants_with_the_same_options_share_what_does_not_differ() -> None:
    first = TokenProvider("tenant-a", "secret-a", f"{SCOPE} officernd.api.read")
    second = TokenProvider("tenant-b", "secret-b", f"{SCOPE} officernd.api.read")
    assert first.key != second.key
    assert first.scopes is second.scopes
    assert first.token_url is second.token_url
    assert first.policy is second.policy
    assert first.client.transport is second.client.transport  # holds nothing but its settings
    with pytest.raises(AttributeError):
        first.token_url = "https://elsewhere.example/oauth/token"  # type: ignore[misc]
    assert first.token_url == "https://identity.officernd.com/oauth/token"
    other = TokenProvider("tenant-c", "secret-c", SCOPE, leeway=30.0)
    assert other.leeway == 30.0
    assert first.leeway == 60.0
    assert other.policy is first.policy  # the retry policy does not depend on the leeway


class Tagged(TokenProvider):
    """A user's subclass (at module level: pickle finds classes by name)."""


def test_a_provider_subclass_keeps_its_own_attributes_when_pickled() -> None:
    import pickle

    provider = Tagged("tenant-a", "secret-a", SCOPE)
    provider.tag = "blue"  # type: ignore[attr-defined]
    copy = pickle.loads(pickle.dumps(provider))
    assert copy.tag == "blue"
    assert copy.key == provider.key
    assert copy.flight is provider.flight  # the process's flight, found again
