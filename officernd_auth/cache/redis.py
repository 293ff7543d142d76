"""The Redis token cache: shared by every worker of a fleet, across hosts."""

from __future__ import annotations

import contextlib
import os
import random
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import TokenCacheWarning
from ..token import Clock, Token, system_clock
from .base import BaseTokenCache, record_of, token_from_record
from .memory import MemoryTokenCache

__all__ = ["RedisTokenCache"]


class RedisTokenCache(BaseTokenCache):
    """A token cache in Redis, shared by every worker of a fleet, across hosts.

    Same keys as :class:`FileTokenCache` (under ``prefix``), never the secret. A value expires in
    Redis when the token is due for renewal (its expiry minus the leeway). Single flight across
    hosts: the first worker that needs a token sets a lock key (``SET NX`` with a short TTL) and
    fetches; the others poll the cache with backoff and take the token it stores. Only the
    owner releases the lock (a token-checked delete); a holder that dies leaves it to expire.
    If Redis is unreachable or slow, a :class:`~officernd_auth.errors.TokenCacheWarning` is
    issued and the process's own memory cache serves until Redis answers again: an API call
    never fails because the cache is down.

    Needs the ``redis`` package: ``pip install 'officernd-auth[redis]'``.

    Args:
        client: a ``redis.Redis`` client, or a URL such as ``redis://localhost:6379/0``.
        prefix: prefix of every key.
        leeway: seconds before expiry at which a stored token disappears (the provider's leeway,
            clamped to half the token's lifetime as the provider clamps it). A cache that a
            provider builds from a URL gets the provider's leeway.
        clock: the time source for token expiry, seconds since the epoch (a cache that a
            provider builds from a URL gets the provider's clock).
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
        leeway: float = 60.0,
        lock_ttl: float = 10.0,
        retry_interval: float = 5.0,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the environment
            from ..errors import ConfigurationError

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
        self.leeway = leeway
        self.lock_ttl = lock_ttl
        self.retry_interval = retry_interval
        self.clock = clock
        self.sleep = sleep
        self._memory = MemoryTokenCache()
        # key -> (token, its renewal time): the per-request check is one lookup and a compare.
        self._fresh: dict[str, tuple[Token, float]] = {}
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
            (self._url, self.prefix, self.leeway, self.lock_ttl, self.retry_interval),
        )

    # -- TokenCache ---------------------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        fresh = self._fresh.get(key)
        if fresh is not None and self.clock() < fresh[1]:
            return fresh[0]  # before its renewal time: no round trip to Redis per API call
        current = self._memory.get(key)
        if current is not None:
            renew_at = current.expires_at - current.effective_leeway(self.leeway)
            self._fresh[key] = (current, renew_at)
            if self.clock() < renew_at:
                return current
        if not self._up():
            return current
        try:
            raw = self._redis.get(self.prefix + key)
        except self._errors as exc:
            self._down(exc)
            return self._memory.get(key)
        self._recovered()
        if raw is None:
            self._memory.delete(key)
            self._fresh.pop(key, None)
            return None
        token = token_from_record(raw)
        if token is None:
            warnings.warn(
                f"ignoring an unreadable token under {self.prefix}{key[:12]}…; it will be "
                "replaced by the next token",
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
        self._fresh.pop(key, None)
        now = self.clock()
        ttl = token.expires_at - token.effective_leeway(self.leeway) - now
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
        self._fresh.pop(key, None)
        if not self._up():
            return
        try:
            self._redis.delete(self.prefix + key)
        except self._errors as exc:
            self._down(exc)

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token``, but only if Redis still holds that one (not a newer one)."""
        self._memory.delete(key)
        self._fresh.pop(key, None)
        if not self._up():
            return
        try:
            self._redis.eval(self._RELEASE, 1, self.prefix + key, record_of(token))
        except self._errors as exc:
            self._down(exc)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Single flight across hosts; see the class docstring. Never raises for Redis faults."""
        if not self._up():
            yield
            return
        lock_key = f"{self.prefix}{key}:lock"
        # Deadlines and outage windows use the monotonic clock: they measure real waiting, which
        # an injected clock (frozen in tests) must not stretch into a hang.
        owner = os.urandom(16).hex()
        deadline = time.monotonic() + 2 * self.lock_ttl
        delay = 0.02
        acquired = False
        try:
            while True:
                if self._redis.set(lock_key, owner, nx=True, px=int(self.lock_ttl * 1000)):
                    acquired = True
                    break
                if self._fresh_token_stored(key) or time.monotonic() > deadline:
                    break  # the holder stored a token (or vanished): go and read it
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

    def _fresh_token_stored(self, key: str) -> bool:
        """True when Redis holds a token that is not yet due for renewal.

        Not merely "a token exists": the one being renewed may outlive its renewal time in
        Redis by a few milliseconds (its TTL is rounded), and taking it for the holder's new
        one would send a second token request.
        """
        raw = self._redis.get(self.prefix + key)
        stored = token_from_record(raw) if raw is not None else None
        return stored is not None and not stored.is_expired(self.clock(), self.leeway)

    # -- availability -------------------------------------------------------------------------

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_interval
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"token cache: Redis is unreachable ({type(exc).__name__}); caching tokens in "
                f"this process's memory until it answers again (retried every "
                f"{self.retry_interval:g} s)",
                TokenCacheWarning,
                stacklevel=4,
            )

    def _recovered(self) -> None:
        self._warned = False


def _rebuild_redis_cache(
    url: str, prefix: str, leeway: float, lock_ttl: float, retry_interval: float
) -> RedisTokenCache:
    return RedisTokenCache(
        url, prefix=prefix, leeway=leeway, lock_ttl=lock_ttl, retry_interval=retry_interval
    )


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
    tail = re.sub(r"(?i)([?&](?:password|pass|passwd|auth)=)[^&#]*", r"\1***", tail)
    return f"{scheme}://{netloc}{tail}"
