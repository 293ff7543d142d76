"""RedisTokenCache against a real redis-server on a free loopback port."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from multiprocess import (
    assert_one_token_request_per_renewal,
    kill,
    results_of,
    start_lock_holder,
    start_workers,
)
from redis_server import REDIS_SERVER, RedisServer, free_port

from officernd_auth import OfficeRNDSession, TokenProvider
from officernd_auth.cache import RedisTokenCache, cache_key
from officernd_auth.errors import TokenCacheWarning
from officernd_auth.testing import App, FakeOfficeRND

redis = pytest.importorskip("redis", reason="the redis package is not installed")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (.ci/run installs it)"
)
SCOPE = "flex.community.members.read"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[object]:
    connection = redis.Redis.from_url(redis_server.url)
    yield connection
    connection.close()


def test_session_uses_redis_and_never_stores_the_secret(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    app: App,
    redis_server: RedisServer,
    client: object,
) -> None:
    session = make_session(token_cache=redis_server.url)  # a URL selects RedisTokenCache
    assert isinstance(session.provider.token_cache, RedisTokenCache)
    assert session.get("members").status_code == 200
    other = make_session(token_cache=RedisTokenCache(redis_server.url))
    assert other.get("members").status_code == 200
    assert fake.token_request_count == 1
    keys = sorted(k.decode() for k in client.keys("*"))  # type: ignore[attr-defined]
    # the token, and the application's shared budget (its send times)
    budget, key = sorted(keys, key=lambda k: ":budget:" not in k)
    assert key.startswith("officernd-auth:token:")
    assert budget.startswith("officernd-auth:token:budget:")
    value = client.get(key).decode()  # type: ignore[attr-defined]
    sent = [m.decode() for m in client.zrange(budget, 0, -1)]  # type: ignore[attr-defined]
    assert len(sent) == 1
    for text in (key, value, budget, *sent):
        assert app.client_secret not in text
        assert app.client_id not in text
    assert json.loads(value)["access_token"] == session.access_token


def test_ttl_is_the_tokens_lifetime(redis_server: RedisServer, client: object) -> None:
    from officernd_auth import Token

    cache = RedisTokenCache(redis_server.url)
    now = time.time()
    cache.set("k", Token("t" * 40, expires_at=now + 3600, obtained_at=now))
    ttl = client.pttl("officernd-auth:token:k") / 1000  # type: ignore[attr-defined]
    assert 3600 - 2 < ttl <= 3600  # whether it is still fresh is the provider's call
    cache.set("gone", Token("g" * 40, expires_at=now, obtained_at=now))
    assert client.get("officernd-auth:token:gone") is None  # type: ignore[attr-defined]
    assert "t" * 40 not in repr(cache)


def test_environment_variable_selects_redis(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    monkeypatch.setenv("OFFICERND_TOKEN_CACHE", redis_server.url)
    provider = TokenProvider("id", "secret", "officernd.api.read")
    assert isinstance(provider.token_cache, RedisTokenCache)
    password_url = f"redis://user:hunter2@127.0.0.1:{redis_server.port}/0"
    assert "hunter2" not in repr(RedisTokenCache(password_url))


def test_unreachable_redis_falls_back_to_memory(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(token_cache=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.warns(TokenCacheWarning, match="unreachable"):
        assert session.get("members").status_code == 200
    assert session.get("members").status_code == 200
    assert fake.token_request_count == 1


def test_redis_stopped_mid_run_and_restarted(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    redis_server: RedisServer,
) -> None:
    cache = RedisTokenCache(redis_server.url, retry_interval=0.2)
    session = make_session(token_cache=cache)
    assert session.get("members").status_code == 200
    redis_server.stop()
    fake.expire_tokens()  # force a renewal while Redis is down
    with pytest.warns(TokenCacheWarning, match="unreachable"):
        statuses = [session.get("members").status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert fake.token_request_count == 2
    redis_server.start()
    time.sleep(0.3)  # past the retry interval
    fake.expire_tokens()
    assert session.get("members").status_code == 200
    assert fake.token_request_count == 3
    stored = redis.Redis.from_url(redis_server.url)
    tokens = [k for k in stored.keys("officernd-auth:token:*") if b":budget:" not in k]
    assert len(tokens) == 1  # Redis is in use again
    stored.close()


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from officernd_auth.provider import TokenProvider
    from officernd_auth.cache import RedisTokenCache

    client_id, secret, token_url, url, seconds, lock_ttl = sys.argv[1:7]
    provider = TokenProvider(client_id, secret, ("flex.community.members.read",),
                             token_url=token_url, token_budget=None,
                             token_cache=RedisTokenCache(url, lock_ttl=float(lock_ttl)))
    seen = set()
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        seen.add(provider.get_token().access_token)
        time.sleep(0.02)
    print(json.dumps({"tokens": sorted(seen), "requests": provider.token_requests}))
    """
)
HOLDER = textwrap.dedent(
    """
    import sys, time
    from officernd_auth.cache import RedisTokenCache

    url, key, lock_ttl = sys.argv[1:4]
    with RedisTokenCache(url, lock_ttl=float(lock_ttl)).lock(key):
        print("locked", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.parametrize(
    "lifetimes", [1, pytest.param(3, marks=pytest.mark.slow)], ids=["short", "long"]
)
def test_sixteen_processes_share_renewals_after_a_killed_lock_holder(
    redis_server: RedisServer, lifetimes: int
) -> None:
    """One token request per renewal period across 16 processes, none before the dead holder's
    lock expired. Short (default suite): one lifetime past the lock's expiry, a renewal at
    least; long (``-m slow``): three lifetimes."""
    # The lock's TTL also bounds a live holder: a worker starved of CPU for longer than that (CI
    # runs the long version niced beside the matrix: 3 s was too short there) lets a second one
    # fetch, by design. So the long run keeps the default TTL; the short one a shorter one.
    lifetime, lock_ttl = 4, (5.0 if lifetimes == 1 else 10.0)
    with FakeOfficeRND(expires_in=lifetime, rate_limit=None) as fake:
        app = fake.add_app([SCOPE])
        key = cache_key(fake.token_url, app.client_id, app.client_secret, (SCOPE,))
        holder = start_lock_holder(HOLDER, redis_server.url, key, str(lock_ttl))
        started = time.time()
        duration = lifetimes * lifetime + lock_ttl + 1.0
        workers = start_workers(
            16,
            WORKER,
            app.client_id,
            app.client_secret,
            fake.token_url,
            # A worker whose Redis call outlasts the client's 1 s socket timeout falls back to
            # its own memory cache and budget, by design, and fetches its own token: under CI's
            # load (the long soaks run niced beside the matrix) that made a second token request
            # 0.6 s after the first. The shared-budget tests wait 5 s for the same reason.
            redis_server.url + "?socket_timeout=5&socket_connect_timeout=5",
            str(duration),
            str(lock_ttl),
        )
        kill(holder)  # dies holding the lock; it must expire by itself
        results = results_of(workers)
        at_least = 2 if lifetimes == 1 else 3  # short: a renewal at least, however late they start
        issued = assert_one_token_request_per_renewal(fake, results, lifetime, duration, at_least)
        assert issued[0] >= started + lock_ttl - 0.5  # nobody fetched while the lock stood
