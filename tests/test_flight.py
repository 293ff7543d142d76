"""officernd_auth.core.flight: one flight (held token, lock, waiters) per credential and cache
while some provider refers to it (the herds are suites of their own: test_races.py,
test_lifecycle.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from officernd_auth import MemoryTokenCache, TokenProvider
from officernd_auth.testing import FakeOfficeRND

SCOPE = "flex.community.members.read"
THREADS = 8


def test_a_flight_lives_while_a_provider_refers_to_it_and_goes_after() -> None:
    import gc

    from officernd_auth.core import flight

    cache = MemoryTokenCache()
    keeper = TokenProvider("tenant-f", "secret-f", SCOPE, token_cache=cache)
    keeper.seed({"access_token": "a" * 40, "expires_in": 3600})
    gc.collect()  # earlier tests' providers in reference cycles: not during this count
    before = flight.registry_sizes()["flights"]
    gone = [TokenProvider(f"tenant-g{i}", "secret-g", SCOPE, token_cache=cache) for i in range(5)]
    assert flight.registry_sizes()["flights"] == before + 5
    del gone
    gc.collect()
    # Gone once no provider refers to them (a weak-value registry); the live
    # provider's flight stays, and a new provider of its credential and cache shares it.
    assert flight.registry_sizes()["flights"] == before
    again = TokenProvider("tenant-f", "secret-f", SCOPE, token_cache=cache)
    assert again.flight is keeper.flight
    assert again.fresh_token() is keeper.fresh_token() is not None  # held, not read again
    # Another cache: another flight for the same credential (its own held token and lock).
    other = TokenProvider("tenant-f", "secret-f", SCOPE, token_cache=MemoryTokenCache())
    assert other.flight is not keeper.flight
    assert other.token_cache is not cache
    assert other.fresh_token() is None
    assert TokenProvider("tenant-f", "secret-f", SCOPE, token_cache=cache).flight is keeper.flight
    assert flight.registry_sizes()["flights"] == before + 1
    del other
    gc.collect()
    assert flight.registry_sizes()["flights"] == before  # one of a key's two flights gone
    assert again.flight is keeper.flight
    assert again.fresh_token() is not None


def test_the_flight_lock_exists_only_while_a_thread_needs_it() -> None:
    with FakeOfficeRND() as fake:
        app = fake.add_app([SCOPE])
        provider = TokenProvider(app.client_id, app.client_secret, SCOPE, token_url=fake.token_url)
        assert provider.flight.lock is None  # a tenant that fetched nothing yet keeps no lock
        seen: list[bool] = []
        provider.add_listener(lambda _: seen.append(provider.flight.lock is not None))
        with ThreadPoolExecutor(THREADS) as pool:
            tokens = set(pool.map(lambda _: provider.get_token(), range(THREADS)))
        assert len(tokens) == 1
        assert fake.token_request_count == 1
        assert seen == [True]  # held while fetching
        assert provider.flight.lock is None
        assert provider.flight.users == 0
