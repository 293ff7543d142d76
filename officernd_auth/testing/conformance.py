"""A conformance kit for token caches: prove that a :class:`~officernd_auth.cache.TokenCache`
keeps the contract, in your own test suite.

Subclass :class:`TokenCacheContract` in a test module and say how to make your cache::

    from officernd_auth.testing.conformance import TokenCacheContract

    class TestSqliteCache(TokenCacheContract):
        def make_cache(self, tmp_path):
            return SqliteTokenCache(tmp_path / "tokens.db")

pytest then runs every rule against it, each test named ``test_rule_...`` and each failure
starting with ``TokenCache rule broken: <rule>``. The rules run against the package's emulator
over loopback (no network), and the cross-process rules in real processes started with
``multiprocessing``'s spawn method, each given your cache by pickling: a cache shared between
processes must pickle to an object that reaches the same store (ours do, with ``__reduce__``).
A cache that lives in one process says so with ``shared = False``; its cross-process rules are
skipped with that reason.

The rules:

- **round trip**: a stored token comes back with its value, type, expiry, time of issue and
  scopes unchanged; ``delete`` forgets it; ``discard`` forgets it but spares a newer one.
- **keyed per credential and scope set**: a token is never served to another client id, another
  secret, or a narrower or wider scope set (each key is its own).
- **expiry respected**: a stored expiry is kept as it is, so an expired token is never served
  as fresh; the provider fetches a new one.
- **nothing secret stored** (with :meth:`TokenCacheContract.raw_records`): the client secret is
  in no stored byte.
- **corrupt records discarded and healed** (with :meth:`TokenCacheContract.corrupt`): a hostile
  or broken record is not served, and the next token replaces it.
- **one token request across processes**: several processes asking at once on a cold cache
  make one token request (the lock reaches across processes).
- **a crashed lock holder does not block**: after a process holding the lock is killed, another
  takes it within :attr:`TokenCacheContract.lock_recovery` seconds.
- **budget and server waits shared** (for caches that keep budgets, ``spend_budget`` and
  ``block_budget``): processes together spend at most the budget in a window, and a server's
  ``Retry-After`` recorded by one holds for all.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..cache import TokenCache, application_key, cache_key
from ..core.provider import TokenProvider
from ..requests_adapter.transport import PlainTransport
from ..values.token import Token
from .emulator import FakeOfficeRND
from .faults import Fault

__all__ = ["ContractViolation", "TokenCacheContract"]

SCOPE = "flex.community.members.read"
WIDER = ("flex.community.members.read", "flex.community.members.create")
#: Processes that ask for a token at once in the cross-process rule.
PROCESSES = 4


class ContractViolation(AssertionError):
    """A rule of the :class:`~officernd_auth.cache.TokenCache` contract is broken."""


def _rule(rule: str, holds: bool, detail: str) -> None:
    if not holds:
        raise ContractViolation(f"TokenCache rule broken: {rule}: {detail}")


def _token(value: str, *, expires_in: float = 3600.0, scopes: tuple[str, ...] = (SCOPE,)) -> Token:
    now = time.time()
    return Token(access_token=value, expires_at=now + expires_in, obtained_at=now,
                 scopes=frozenset(scopes), token_type="Bearer")  # fmt: skip


class TokenCacheContract:
    """The rules of the token cache contract as pytest tests; subclass it and define
    :meth:`make_cache` (see the module's documentation)."""

    #: The cache reaches other processes; ``False`` skips the cross-process rules.
    shared: ClassVar[bool] = True
    #: Seconds within which a killed lock holder must stop blocking others.
    lock_recovery: ClassVar[float] = 30.0

    # -- what a subclass gives ---------------------------------------------------------------

    def make_cache(self, tmp_path: Path) -> TokenCache:
        """A new, empty cache (``tmp_path``: pytest's directory of this test)."""
        raise NotImplementedError("define make_cache(self, tmp_path) -> TokenCache")

    def raw_records(self, cache: TokenCache) -> bytes | None:
        """Every byte the cache stored, for the "nothing secret stored" rule (None: skipped)."""
        return None

    def corrupt(self, cache: TokenCache, key: str) -> bool:
        """Store a hostile or broken record under ``key`` the way a crash or an attacker could,
        bypassing ``set``; True if done (False: the rule is skipped)."""
        return False

    # -- fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def cache(self, tmp_path: Path) -> TokenCache:
        made = self.make_cache(tmp_path)
        _rule("is a TokenCache", isinstance(made, TokenCache),
              f"{type(made).__name__} lacks get, set, delete, discard or lock")  # fmt: skip
        return made

    @pytest.fixture
    def emulator(self) -> Iterator[FakeOfficeRND]:
        with FakeOfficeRND(rate_limit=None) as fake:
            yield fake

    def _provider(self, fake: FakeOfficeRND, cache: TokenCache, app: Any, **kw: Any) -> Any:
        return _over_requests(TokenProvider(
            app.client_id, app.client_secret, kw.pop("scope", SCOPE), token_url=fake.token_url,
            token_cache=cache, token_budget=None, **kw,
        ))  # fmt: skip

    # -- the rules ---------------------------------------------------------------------------

    def test_rule_round_trip(self, cache: TokenCache) -> None:
        key = cache_key("https://identity.example/oauth/token", "client", "secret", (SCOPE,))
        stored = _token("round-trip-token-" + "x" * 24)
        cache.set(key, stored)
        found = cache.get(key)
        _rule("round trip", found is not None, "get() returned None right after set()")
        assert found is not None
        for field in ("access_token", "token_type", "expires_at", "obtained_at", "scopes"):
            want, got = getattr(stored, field), getattr(found, field)
            close = abs(want - got) < 1e-3 if isinstance(want, float) else want == got
            _rule("round trip", close, f"{field} came back as {got!r}, stored {want!r}")
        newer = _token("newer-token-" + "y" * 28)
        cache.set(key, newer)
        cache.discard(key, stored)
        kept = cache.get(key)
        _rule("round trip", kept is not None and kept.access_token == newer.access_token,
              "discard(key, old) removed the newer token stored meanwhile")  # fmt: skip
        cache.discard(key, newer)
        _rule("round trip", cache.get(key) is None, "discard(key, token) left that token")
        cache.set(key, newer)
        cache.delete(key)
        _rule("round trip", cache.get(key) is None, "delete() left the token")
        cache.delete(key)  # no error when there is none

    def test_rule_keyed_per_credential_and_scope(
        self, cache: TokenCache, emulator: FakeOfficeRND
    ) -> None:
        url = emulator.token_url
        keys = {
            "this credential": cache_key(url, "client-a", "secret-a", (SCOPE,)),
            "another client id": cache_key(url, "client-b", "secret-a", (SCOPE,)),
            "another secret": cache_key(url, "client-a", "secret-b", (SCOPE,)),
            "a wider scope set": cache_key(url, "client-a", "secret-a", WIDER),
        }
        cache.set(keys["this credential"], _token("token-of-client-a-" + "z" * 22))
        for name, key in keys.items():
            if name != "this credential":
                served = cache.get(key)
                _rule("keyed per credential and scope set", served is None,
                      f"a token stored for one credential was served to {name}")  # fmt: skip
        # Through providers: each credential and scope set gets a token of its own.
        narrow, wide = emulator.add_app([SCOPE]), emulator.add_app(list(WIDER))
        tokens = {
            "app 1": self._provider(emulator, cache, narrow).get_token(),
            "app 2, narrower scope": self._provider(emulator, cache, wide).get_token(),
            "app 2, wider scope": self._provider(
                emulator, cache, wide, scope=" ".join(WIDER)
            ).get_token(),
        }
        values = [t.access_token for t in tokens.values()]
        _rule("keyed per credential and scope set", len(set(values)) == len(values),
              f"providers of different credentials or scopes shared a token: "
              f"{sorted(tokens)}")  # fmt: skip
        count = emulator.token_request_count
        _rule("keyed per credential and scope set", count == 3,
              f"{count} token requests for 3 credentials and scope sets")  # fmt: skip

    def test_rule_expiry_respected(self, cache: TokenCache, emulator: FakeOfficeRND) -> None:
        app = emulator.add_app([SCOPE])
        provider = self._provider(emulator, cache, app)
        expired = _token("expired-token-" + "e" * 26, expires_in=-5)
        cache.set(provider.key, expired)
        found = cache.get(provider.key)
        kept = found is None or abs(found.expires_at - expired.expires_at) < 1
        _rule("expiry respected", kept,
              "the stored expiry came back changed: an expired token passes as fresh")  # fmt: skip
        token = provider.get_token()
        _rule("expiry respected", token.access_token != expired.access_token,
              "an expired token was served")  # fmt: skip
        _rule("expiry respected", emulator.token_request_count == 1,
              "no new token was fetched for an expired one")  # fmt: skip

    def test_rule_nothing_secret_stored(self, cache: TokenCache, emulator: FakeOfficeRND) -> None:
        app = emulator.add_app([SCOPE])
        self._provider(emulator, cache, app).get_token()
        raw = self.raw_records(cache)
        if raw is None:
            pytest.skip("define raw_records(cache) to check that no secret is stored")
        _rule("nothing secret stored", app.client_secret.encode() not in raw,
              "the client secret is in the stored bytes")  # fmt: skip

    def test_rule_corrupt_records_discarded_and_healed(
        self, cache: TokenCache, emulator: FakeOfficeRND
    ) -> None:
        app = emulator.add_app([SCOPE])
        provider = self._provider(emulator, cache, app)
        if not self.corrupt(cache, provider.key):
            pytest.skip("define corrupt(cache, key) to check that broken records are healed")
        with _quiet_cache_warnings():
            served = cache.get(provider.key)
            _rule("corrupt records discarded and healed", served is None,
                  f"a corrupt record was served as a token ({type(served).__name__})")  # fmt: skip
            token = provider.get_token()
        healed = cache.get(provider.key)
        _rule("corrupt records discarded and healed",
              healed is not None and healed.access_token == token.access_token,
              "the new token did not replace the corrupt record")  # fmt: skip

    def test_rule_one_token_request_across_processes(
        self, cache: TokenCache, emulator: FakeOfficeRND
    ) -> None:
        self._needs_sharing(cache)
        app = emulator.add_app([SCOPE])
        emulator.fail_next_token_requests(Fault.slow(1.0))  # the first fetch overlaps the rest
        tokens = _in_processes(
            PROCESSES, _fetch_token, cache, emulator.token_url, app.client_id, app.client_secret
        )
        _rule("one token request across processes", emulator.token_request_count == 1,
              f"{PROCESSES} processes on a cold cache made {emulator.token_request_count} token "
              "requests: the lock does not reach across processes")  # fmt: skip
        _rule("one token request across processes", len(set(tokens)) == 1,
              "processes ended with different tokens")  # fmt: skip

    def test_rule_crashed_lock_holder_does_not_block(self, cache: TokenCache) -> None:
        self._needs_sharing(cache)
        key = cache_key("https://identity.example/oauth/token", "crash", "secret", (SCOPE,))
        context = multiprocessing.get_context("spawn")
        ready, release = context.Event(), context.Event()
        holder = context.Process(target=_hold_lock, args=(pickle.dumps(cache), key, ready,
                                                          release))  # fmt: skip
        holder.start()
        try:
            _rule("a crashed lock holder does not block", ready.wait(60),
                  "the lock holder never got the lock")  # fmt: skip
            assert holder.pid is not None
            os.kill(holder.pid, signal.SIGKILL)
            holder.join(10)
            started = time.monotonic()
            taken = _take_lock(cache, key, self.lock_recovery + 5)
            waited = time.monotonic() - started
        finally:
            if holder.is_alive():
                holder.kill()
        _rule("a crashed lock holder does not block", taken and waited <= self.lock_recovery,
              f"the lock of a killed holder was still held after {waited:.1f} s (bound: "
              f"{self.lock_recovery:g} s)")  # fmt: skip

    def test_rule_budget_and_server_waits_shared(self, cache: TokenCache) -> None:
        self._needs_sharing(cache)
        if not hasattr(cache, "spend_budget") or not hasattr(cache, "block_budget"):
            pytest.skip("this cache keeps no budget: each process keeps its own")
        # Applications of this run alone: a persistent store (a Redis server kept between
        # runs) still holds the last run's records for a window; they expire by themselves.
        run = os.urandom(6).hex()
        application = application_key("https://identity.example/oauth/token", f"budget-{run}")
        spent = _in_processes(3, _spend, cache, application, 3)
        _rule("budget and server waits shared", sum(spent) == 5,
              f"3 processes spending 3 each with a budget of 5 sent {sum(spent)}")  # fmt: skip
        other = application_key("https://identity.example/oauth/token", f"blocked-{run}")
        now = time.time()
        cache.block_budget(other, now + 30, now)
        refused = _in_processes(1, _spend, cache, other, 1)
        _rule("budget and server waits shared", refused == [0],
              "a Retry-After recorded by one process did not hold in another")  # fmt: skip

    def _needs_sharing(self, cache: TokenCache) -> None:
        if not self.shared:
            pytest.skip(f"{type(cache).__name__} lives in one process (shared = False)")


# -- what runs in the other processes -------------------------------------------------------------


def _in_processes(count: int, target: Any, cache: TokenCache, *args: Any) -> list[Any]:
    """Run ``target(cache, *args)`` in ``count`` spawned processes started together; their
    results, in order."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Event()
    blob = pickle.dumps(cache)
    workers = [context.Process(target=_worker, args=(i, target, blob, args, start, results))
               for i in range(count)]  # fmt: skip
    for worker in workers:
        worker.start()
    start.set()
    found: dict[int, Any] = {}
    try:
        for _ in range(count):
            index, ok, value = results.get(timeout=120)
            if not ok:
                raise ContractViolation(f"TokenCache rule broken: a process failed: {value}")
            found[index] = value
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    return [found[i] for i in range(count)]


def _worker(index: int, target: Any, blob: bytes, args: Any, start: Any, results: Any) -> None:
    try:
        cache = pickle.loads(blob)  # noqa: S301 (our own pickle of the cache under test)
        start.wait(60)
        results.put((index, True, target(cache, *args)))
    except BaseException as exc:  # reported to the parent, which fails the rule
        results.put((index, False, f"{type(exc).__name__}: {exc}"))


def _fetch_token(cache: TokenCache, token_url: str, client_id: str, secret: str) -> str:
    provider = TokenProvider(client_id, secret, SCOPE, token_url=token_url, token_cache=cache,
                             token_budget=None)  # fmt: skip
    return _over_requests(provider).get_token().access_token


def _over_requests(provider: TokenProvider) -> TokenProvider:
    """``provider``, sending its token requests over requests (the kit's HTTP library)."""
    provider.use_transport(PlainTransport.for_settings())
    return provider


def _spend(cache: Any, application: str, times: int) -> int:
    sent = 0
    for _ in range(times):
        if cache.spend_budget(application, time.time(), 5, 60.0) is None:
            sent += 1
    return sent


def _hold_lock(blob: bytes, key: str, ready: Any, release: Any) -> None:
    cache = pickle.loads(blob)  # noqa: S301 (our own pickle of the cache under test)
    with cache.lock(key):
        ready.set()
        release.wait(600)


def _take_lock(cache: TokenCache, key: str, within: float) -> bool:
    """Take and release the lock in a thread; False if that did not happen ``within`` s."""
    done = threading.Event()

    def take() -> None:
        with cache.lock(key):
            done.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    taken = done.wait(within)
    if taken:
        # Its release too: the test must not end, and the store under it stop, before the
        # thread has let go (its release would fail in the thread after the test).
        thread.join(within)
    return taken


@contextlib.contextmanager
def _quiet_cache_warnings() -> Iterator[None]:
    import warnings

    from ..values.errors import TokenCacheWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TokenCacheWarning)
        yield
