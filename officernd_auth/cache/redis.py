"""The Redis token cache: shared by every worker of a fleet, across hosts."""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..events import emit
from ..values.deadline import MAX_IN_FLIGHT, MAX_SERVER_WAIT
from ..values.errors import TokenCacheWarning
from ..values.records import MAX_RECORD_BYTES
from ..values.token import Token
from .base import (
    BaseTokenCache,
    BudgetUse,
    budget_record,
    budget_use,
    record_of,
    token_from_record,
)
from .memory import MemoryTokenCache

__all__ = ["RedisTokenCache"]

#: What :meth:`RedisTokenCache._read` gives for a value larger than any record: never parsed.
_OVERSIZED = b"<a value larger than any token record>"


class RedisTokenCache(BaseTokenCache):
    """A token cache in Redis, shared by every worker of a fleet, across hosts.

    Same keys as :class:`FileTokenCache` (under ``prefix``), never the secret. A value lives in
    Redis for its token's lifetime (whether it is still fresh is the provider's call). Single
    flight across hosts: the first worker that needs a token sets a lock key (``SET NX`` with a
    short TTL) and fetches; the others poll with backoff until the lock is free or a new token
    is stored. Only the
    owner releases the lock (a token-checked delete); a holder that dies leaves it to expire.
    If Redis is unreachable or slow, a :class:`~officernd_auth.errors.TokenCacheWarning` is
    issued and the process's own memory cache serves until Redis answers again: an API call
    never fails because the cache is down.

    Needs the ``redis`` package: ``pip install 'officernd-auth[redis]'``.

    Args:
        client: a ``redis.Redis`` client, or a URL such as ``redis://localhost:6379/0``.
        prefix: prefix of every key.
        sleep: how to wait between polls of another worker's lock.
        lock_ttl: seconds a lock lives if its holder dies.
        retry_interval: seconds to keep using memory after Redis failed, before trying again.

    Example:
        >>> from officernd_auth import OfficeRNDSession
        >>> session = OfficeRNDSession(token_cache=RedisTokenCache("redis://localhost:6379/0"))
        ... # doctest: +SKIP
    """

    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end"
    )

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "officernd-auth:token:",
        lock_ttl: float = 10.0,
        retry_interval: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the environment
            from ..values.errors import ConfigurationError

            raise ConfigurationError(
                "RedisTokenCache needs the redis package: pip install 'officernd-auth[redis]'"
            ) from None
        if isinstance(client, str):
            self._url: str | None = client
            client = redis.Redis.from_url(client, socket_timeout=1.0, socket_connect_timeout=1.0)
        else:
            self._url = None
        self._redis = client
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.retry_interval = retry_interval
        self.sleep = sleep
        # What this process last read or wrote: served while Redis is unreachable.
        self._memory = MemoryTokenCache()
        self._down_until = 0.0
        self._warned = False

    def __repr__(self) -> str:
        where = _redact_url(self._url) if self._url else type(self._redis).__name__
        return f"<RedisTokenCache {where} prefix={self.prefix!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url is None:
            raise TypeError("a RedisTokenCache built from a client object cannot be pickled")
        return (
            _rebuild_redis_cache,
            (self._url, self.prefix, self.lock_ttl, self.retry_interval),
        )

    # -- TokenCache ---------------------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        # The provider holds the token it uses between renewals, so this runs once a renewal,
        # not once a request: it always asks Redis (while Redis answers).
        current = self._memory.get(key)
        if not self._up():
            return current
        try:
            raw = self._read(self.prefix + key)
        except self._errors as exc:
            self._down(exc)
            return self._memory.get(key)
        self._recovered()
        if raw is None:
            self._memory.delete(key)
            return None
        token = token_from_record(raw)
        if token is None:
            # Not a record of ours (planted, corrupt, oversized): never used, and removed so
            # that it cannot stand between every worker and the next token.
            self._memory.delete(key)
            with contextlib.suppress(*self._errors):
                if raw is _OVERSIZED:
                    self._redis.delete(self.prefix + key)
                else:
                    self._redis.eval(self._RELEASE, 1, self.prefix + key, raw)
            warnings.warn(
                f"ignoring an unreadable token under {self.prefix}{key[:12]}…; it was removed "
                "and will be replaced by the next token",
                TokenCacheWarning,
                stacklevel=3,
            )
            return None
        if current is not None and current == token:
            return current  # the same object each time: the provider's hot path stays cheap
        self._memory.set(key, token)
        return token

    def set(self, key: str, token: Token) -> None:
        self._memory.set(key, token)
        # The token's own lifetime, not a clock: a store needs no time of its own.
        ttl = token.lifetime
        if ttl <= 0 or not self._up():
            return
        try:
            self._redis.set(self.prefix + key, record_of(token), px=max(1, int(ttl * 1000)))
        except self._errors as exc:
            self._down(exc)
        else:
            self._recovered()

    def delete(self, key: str) -> None:
        self._memory.delete(key)
        if not self._up():
            return
        try:
            self._redis.delete(self.prefix + key)
        except self._errors as exc:
            self._down(exc)

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token``, but only if Redis still holds that one (not a newer one).

        Compared as parsed records, so a record written in another layout (another version, a
        hand-made one) is forgotten too; the delete happens only if the value is unchanged."""
        self._memory.delete(key)
        if not self._up():
            return
        try:
            raw = self._read(self.prefix + key)
            if raw is not None and token_from_record(raw) in (token, None):
                self._redis.eval(self._RELEASE, 1, self.prefix + key, raw)
        except self._errors as exc:
            self._down(exc)

    def _read(self, name: str) -> bytes | None:
        """The value under ``name``, unless it is larger than any record of ours (then a
        placeholder that no parser accepts, so that it is removed unread)."""
        if self._redis.strlen(name) > MAX_RECORD_BYTES:
            return _OVERSIZED
        raw: bytes | None = self._redis.get(name)
        return raw

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:
        """Single flight across hosts; see the class docstring. Never raises for Redis faults.

        Waits at most ``2 * lock_ttl`` or ``timeout`` seconds, whichever is shorter."""
        if not self._up():
            yield
            return
        lock_key = f"{self.prefix}{key}:lock"
        # Deadlines and outage windows use the monotonic clock: they measure real waiting, which
        # an injected clock (frozen in tests) must not stretch into a hang.
        owner = os.urandom(16).hex()
        wait = 2 * self.lock_ttl if timeout is None else min(timeout, 2 * self.lock_ttl)
        deadline = time.monotonic() + wait
        delay = 0.02
        acquired = False
        try:
            before = self._redis.get(self.prefix + key)
            while True:
                if self._redis.set(lock_key, owner, nx=True, px=int(self.lock_ttl * 1000)):
                    acquired = True
                    break
                stored = self._redis.get(self.prefix + key)
                if (stored is not None and stored != before) or time.monotonic() > deadline:
                    break  # the holder stored another token (or vanished): go and read it
                self.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 0.5)
        except self._errors as exc:
            self._down(exc)
        try:
            yield
        finally:
            if acquired:
                try:
                    self._redis.eval(self._RELEASE, 1, lock_key, owner)
                except self._errors as exc:
                    self._down(exc)

    # -- the shared token budget (policy.BudgetStore) ---------------------------------------

    # KEYS: the sorted set of send times, the key holding the server's wait. ARGV: now, limit
    # (-1: none), window, a unique member, the longest server wait, the time the request is
    # counted from (see settle_budget), the latest send time believed. Answers
    # {reason, seconds}. Whoever can write this Redis can plant values: send times outside the
    # window (ahead of now included) are dropped, a wait is clamped to the longest a 429 asks
    # for, and every key left behind has a TTL.
    _SPEND = """
local now, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cap, at, latest = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
redis.call('zremrangebyscore', KEYS[1], '(' .. tostring(latest), '+inf')
local blocked = tonumber(redis.call('get', KEYS[2]) or '0') or 0
if blocked ~= blocked or blocked < 0 then blocked = 0 end
if blocked > now + cap then
  blocked = now + cap
  redis.call('set', KEYS[2], tostring(blocked), 'PX', math.ceil(cap * 1000))
elseif blocked > now and redis.call('pttl', KEYS[2]) < 0 then
  redis.call('pexpire', KEYS[2], math.ceil((blocked - now) * 1000))
end
if now < blocked then return {'server', tostring(blocked - now)} end
local keep = math.ceil((math.max(at, now) - now + window) * 1000)
if limit >= 0 and redis.call('zcard', KEYS[1]) >= limit then
  local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
  if redis.call('pttl', KEYS[1]) < 0 then redis.call('pexpire', KEYS[1], keep) end
  return {'budget', tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('zadd', KEYS[1], at, ARGV[4])
if redis.call('pttl', KEYS[1]) < keep then redis.call('pexpire', KEYS[1], keep) end
return {'ok', '0'}
"""
    # KEYS: the sorted set of send times. ARGV: the send time recorded, when the answer came,
    # the window, a unique member (if the first is gone). Counts the request from its answer.
    _SETTLE = """
local spent, answered, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local found = redis.call('zrangebyscore', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
redis.call('zadd', KEYS[1], answered, found[1] or ARGV[4])
local keep = math.ceil(window * 1000)
if redis.call('pttl', KEYS[1]) < keep then redis.call('pexpire', KEYS[1], keep) end
return 0
"""
    # KEYS: the key holding the server's wait. ARGV: until, now, the longest server wait. Only
    # ever moves it later, never past now + the longest wait.
    _BLOCK = """
local stop, now, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if stop > now + cap then stop = now + cap end
local current = tonumber(redis.call('get', KEYS[1]) or '0') or 0
if current ~= current or current > now + cap then current = 0 end
if stop > current and stop > now then
  redis.call('set', KEYS[1], tostring(stop), 'PX', math.ceil((stop - now) * 1000))
end
return 0
"""

    def spend_budget(
        self,
        application: str,
        now: float,
        limit: int | None,
        window: float,
        *,
        at: float | None = None,
    ) -> tuple[float, str] | None:
        """Record one token request of ``application`` at ``now`` for every worker sharing
        this Redis, atomically; or say how long until one may go, and why.

        Raises:
            OSError: Redis is unreachable (the caller falls back to its own budget).
        """
        keys = self._budget_keys(application)
        member = f"{now!r}:{os.urandom(6).hex()}"
        limit_arg = -1 if limit is None else limit
        latest = now + window + MAX_IN_FLIGHT
        counted = now if at is None else min(at, latest)
        answer = self._budget_call(
            self._SPEND, keys, now, limit_arg, window, member, MAX_SERVER_WAIT, counted, latest
        )
        reason, seconds = (part.decode() if isinstance(part, bytes) else part for part in answer)
        if reason == "ok":
            return None
        wait = float(seconds)
        bound = MAX_SERVER_WAIT if reason == "server" else window + MAX_IN_FLIGHT
        return (min(max(wait, 0.0), bound) if math.isfinite(wait) else bound, reason)

    def settle_budget(self, application: str, spent: float, answered: float, window: float) -> None:
        """Count the request recorded at ``spent`` from ``answered``, when its answer came (for
        every worker sharing this Redis).

        Raises:
            OSError: Redis is unreachable.
        """
        member = f"{answered!r}:{os.urandom(6).hex()}"
        keys = self._budget_keys(application)[:1]
        self._budget_call(self._SETTLE, keys, spent, answered, window, member)

    def block_budget(self, application: str, until: float, now: float) -> None:
        """Let no worker sharing this Redis send a token request before ``until`` (it is
        ``now``).

        Raises:
            OSError: Redis is unreachable.
        """
        self._budget_call(
            self._BLOCK, self._budget_keys(application)[1:], until, now, MAX_SERVER_WAIT
        )

    # -- what ``officernd-auth status`` reads (never writes) ----------------------------------

    def budget_applications(self) -> list[str]:
        """The application keys with a budget in this Redis (under this prefix).

        Raises:
            OSError: Redis is unreachable.
        """
        pattern, start = f"{self.prefix}budget:*:sent", len(self.prefix) + len("budget:")
        names = self._status_call(lambda: list(self._redis.scan_iter(match=pattern)))
        return sorted({_text(name)[start:].removesuffix(":sent") for name in names})

    def budget_use(self, application: str, now: float, window: float) -> BudgetUse:
        """``application``'s budget at ``now``, as every worker sharing this Redis spent it.

        Raises:
            OSError: Redis is unreachable.
        """
        sent_key, wait_key = self._budget_keys(application)
        sent = self._status_call(lambda: self._redis.zrangebyscore(sent_key, "-inf", "+inf",
                                                                   withscores=True))  # fmt: skip
        blocked = self._status_call(lambda: self._redis.get(wait_key))
        try:
            until = float(_text(blocked)) if blocked is not None else 0.0
        except ValueError:
            until = 0.0
        record = budget_record({"sent": [score for _, score in sent], "blocked_until": until})
        return budget_use(record, now, window)

    def token_keys(self) -> list[str]:
        """The cache keys of the token records in this Redis (under this prefix).

        Raises:
            OSError: Redis is unreachable.
        """
        names = self._status_call(lambda: list(self._redis.scan_iter(match=f"{self.prefix}*")))
        keys = (_text(name)[len(self.prefix) :] for name in names)
        return sorted(key for key in keys if len(key) == 64 and key.isalnum())

    def _status_call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except self._errors as exc:
            raise ConnectionError(f"Redis is unreachable ({type(exc).__name__})") from None

    def _budget_keys(self, application: str) -> tuple[str, str]:
        return (
            f"{self.prefix}budget:{application}:sent",
            f"{self.prefix}budget:{application}:wait",
        )

    def _budget_call(self, script: str, keys: tuple[str, ...], *args: object) -> Any:
        if not self._up():
            raise ConnectionError("Redis is unreachable")
        try:
            answer = self._redis.eval(script, len(keys), *keys, *args)
        except self._errors as exc:
            self._down(exc)
            raise ConnectionError("Redis is unreachable") from None
        self._recovered()
        return answer

    # -- availability -------------------------------------------------------------------------

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_interval
        if not self._warned:
            self._warned = True  # until it answers again: one warning and one event per outage
            emit("store.down", self.name, error=type(exc).__name__,
                 retry_interval=self.retry_interval)  # fmt: skip
            warnings.warn(
                f"token cache: Redis is unreachable ({type(exc).__name__}); caching tokens in "
                f"this process's memory until it answers again (retried every "
                f"{self.retry_interval:g} s)",
                TokenCacheWarning,
                stacklevel=4,
            )

    def _recovered(self) -> None:
        if self._warned:
            self._warned = False
            emit("store.up", self.name)

    @property
    def name(self) -> str:
        """This store in events and ``officernd-auth status``: its URL without a password."""
        return _redact_url(self._url) if self._url else f"redis:{type(self._redis).__name__}"


def _rebuild_redis_cache(
    url: str, prefix: str, lock_ttl: float, retry_interval: float
) -> RedisTokenCache:
    return RedisTokenCache(url, prefix=prefix, lock_ttl=lock_ttl, retry_interval=retry_interval)


def _redact_url(url: str) -> str:
    """A Redis URL without any password: none in the user part, none in the query."""
    import re

    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
        netloc = f"{user}:***@{hostport}"
    from urllib.parse import unquote_plus

    def masked(match: re.Match[str]) -> str:
        # The name as Redis reads it: percent-decoded (?p%61ssword= is a password too).
        name = unquote_plus(match[2]).strip().lower()
        secret = name in {"password", "pass", "passwd", "auth"} or "password" in name
        return f"{match[1]}{match[2]}={'***' if secret else match[3]}"

    tail = re.sub(r"([?&])([^=&#]*)=([^&#]*)", masked, tail)
    return f"{scheme}://{netloc}{tail}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
