"""The token cache conformance kit (officernd_auth.testing.conformance): our memory, file and
Redis caches pass it, and three caches broken on purpose each fail with the rule they break."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_server import REDIS_SERVER, RedisServer, free_port

from officernd_auth.cache import (
    BaseTokenCache,
    FileTokenCache,
    MemoryTokenCache,
    RedisTokenCache,
    TokenCache,
    record_of,
    token_from_record,
)
from officernd_auth.testing import FakeOfficeRND
from officernd_auth.testing.conformance import ContractViolation, TokenCacheContract
from officernd_auth.values.token import Token

# The guide's sample backend (docs/caches.rst), importable by name in the kit's other processes.
EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
sys.path.insert(0, str(EXAMPLES))
from sqlite_token_cache import SqliteTokenCache  # noqa: E402


class TestSqliteSample(TokenCacheContract):
    """The guide's example of a cache of your own passes the kit."""

    def make_cache(self, tmp_path: Path) -> TokenCache:
        cache: TokenCache = SqliteTokenCache(tmp_path / "tokens.db")
        return cache

    def raw_records(self, cache: TokenCache) -> bytes:
        return Path(tmp_sqlite(cache)).read_bytes()

    def corrupt(self, cache: TokenCache, key: str) -> bool:
        # closing: a connection's own "with" commits but does not close (3.13 warns).
        with contextlib.closing(sqlite3.connect(tmp_sqlite(cache))) as db, db:
            db.execute("REPLACE INTO tokens VALUES (?, ?)", (key, '{"format": 1, "x": [}'))
        return True


def tmp_sqlite(cache: TokenCache) -> str:
    path: str = getattr(cache, "path")  # noqa: B009 (the sample is untyped)
    return path


class TestMemoryTokenCache(TokenCacheContract):
    shared = False  # one process's

    def make_cache(self, tmp_path: Path) -> TokenCache:
        return MemoryTokenCache()


class TestFileTokenCache(TokenCacheContract):
    def make_cache(self, tmp_path: Path) -> TokenCache:
        return FileTokenCache(tmp_path / "tokens")

    def raw_records(self, cache: TokenCache) -> bytes:
        directory = tmp_directory(cache)
        return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())

    def corrupt(self, cache: TokenCache, key: str) -> bool:
        assert isinstance(cache, FileTokenCache)
        path = cache.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text('{"format": "officernd-auth/token/1", "access_token": 42}')
        path.chmod(0o600)
        return True


def tmp_directory(cache: TokenCache) -> Path:
    assert isinstance(cache, FileTokenCache)
    return Path(cache.directory)


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
class TestRedisTokenCache(TokenCacheContract):
    lock_recovery = 12.0  # the lock's TTL (5 s here) and a margin

    @pytest.fixture(autouse=True)
    def _redis(self, tmp_path: Path) -> Iterator[None]:
        self.server = RedisServer(free_port(), tmp_path)
        self.server.start()
        yield
        self.server.stop()

    def make_cache(self, tmp_path: Path) -> TokenCache:
        return RedisTokenCache(self.server.url, lock_ttl=5.0)

    def raw_records(self, cache: TokenCache) -> bytes:
        import redis

        client = redis.Redis.from_url(self.server.url)
        try:
            return b"".join(
                key + repr(client.dump(key)).encode() for key in sorted(client.keys("*"))
            )
        finally:
            client.close()

    def corrupt(self, cache: TokenCache, key: str) -> bool:
        import redis

        assert isinstance(cache, RedisTokenCache)
        client = redis.Redis.from_url(self.server.url)
        try:
            client.set(cache.prefix + key, b"\xff\xfe not a record")
        finally:
            client.close()
        return True


# -- caches broken on purpose ---------------------------------------------------------------------


class OneSlotCache(BaseTokenCache):
    """Broken: keeps one token, whoever asks (a cache keyed by nothing)."""

    def __init__(self) -> None:
        self.token: Token | None = None

    def get(self, key: str) -> Token | None:
        return self.token

    def set(self, key: str, token: Token) -> None:
        self.token = token

    def delete(self, key: str) -> None:
        self.token = None


class DirectoryCache(BaseTokenCache):
    """Files shared by processes, but the lock of BaseTokenCache: nothing across processes.
    Broken for the cross-process rule."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return Path(self.directory, key)

    def get(self, key: str) -> Token | None:
        try:
            return token_from_record(self._path(key).read_bytes())
        except FileNotFoundError:
            return None

    def set(self, key: str, token: Token) -> None:
        self._path(key).write_text(record_of(token))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class SecretKeepingCache(DirectoryCache):
    """Broken: "for encryption" it is given the secret, and writes it down beside the tokens."""

    def __init__(self, directory: str, secret: str) -> None:
        super().__init__(directory)
        self.secret = secret

    def set(self, key: str, token: Token) -> None:
        self._path(key).write_text(json.dumps({"record": record_of(token), "k": self.secret}))

    def get(self, key: str) -> Token | None:
        try:
            return token_from_record(json.loads(self._path(key).read_text())["record"])
        except FileNotFoundError:
            return None


class Kit(TokenCacheContract):
    """The kit run by hand on a broken cache (pytest does not collect it: no Test prefix)."""

    def __init__(self, cache: TokenCache) -> None:
        self.made = cache

    def make_cache(self, tmp_path: Path) -> TokenCache:
        return self.made

    def raw_records(self, cache: TokenCache) -> bytes:
        assert isinstance(cache, DirectoryCache)
        return b"".join(p.read_bytes() for p in sorted(Path(cache.directory).iterdir()))


@pytest.fixture
def emulator() -> Iterator[FakeOfficeRND]:
    with FakeOfficeRND(rate_limit=None) as fake:
        yield fake


def _run(kit: Kit, rule: str, emulator: FakeOfficeRND | None) -> None:
    test: Any = getattr(kit, f"test_rule_{rule}")
    if emulator is None:
        test(kit.made)
    else:
        test(kit.made, emulator)


def test_a_cache_that_serves_another_credentials_token_fails_its_rule(
    emulator: FakeOfficeRND,
) -> None:
    kit = Kit(OneSlotCache())
    _run(kit, "round_trip", None)  # it does keep what it is given
    with pytest.raises(ContractViolation, match="rule broken: keyed per credential and scope"):
        _run(kit, "keyed_per_credential_and_scope", emulator)


def test_a_lock_that_is_not_cross_process_fails_its_rule(
    tmp_path: Path, emulator: FakeOfficeRND
) -> None:
    kit = Kit(DirectoryCache(str(tmp_path)))
    _run(kit, "round_trip", None)
    with pytest.raises(ContractViolation, match="rule broken: one token request across proc"):
        _run(kit, "one_token_request_across_processes", emulator)


def test_a_cache_that_stores_the_secret_fails_its_rule(
    tmp_path: Path, emulator: FakeOfficeRND
) -> None:
    app = emulator.add_app(["flex.community.members.read"])
    cache = SecretKeepingCache(str(tmp_path), app.client_secret)
    kit = Kit(cache)
    _run(kit, "round_trip", None)
    original = emulator.add_app

    def same_app(scopes: Any) -> Any:  # the rule's app is the one whose secret the cache has
        return app

    emulator.add_app = same_app  # type: ignore[method-assign]
    try:
        with pytest.raises(ContractViolation, match="rule broken: nothing secret stored"):
            _run(kit, "nothing_secret_stored", emulator)
    finally:
        emulator.add_app = original  # type: ignore[method-assign]


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_the_budget_rule_runs_twice_within_a_minute_against_one_persistent_store(
    tmp_path: Path,
) -> None:
    """A Redis server kept between runs holds the last run's budget records for a window: the
    next run must not read them as its own (a false "rule broken")."""
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        kit = Kit(RedisTokenCache(server.url))
        for _ in range(2):
            _run(kit, "budget_and_server_waits_shared", None)
    finally:
        server.stop()


def test_the_kit_waits_for_a_lock_taken_in_a_thread_to_be_released() -> None:
    """The crashed-holder rule takes the lock in a thread: the rule ends after that thread has
    released it, never while the release is still on its way to a store the test then stops."""
    import threading
    import time

    from officernd_auth.testing.conformance import _take_lock

    released = threading.Event()

    class SlowRelease(MemoryTokenCache):
        @contextlib.contextmanager
        def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:
            yield
            time.sleep(0.3)  # a release that takes a round trip
            released.set()

    assert _take_lock(SlowRelease(), "key", within=5)
    assert released.is_set()
