"""The Django token cache: tokens in any cache configured in Django's ``CACHES``.

One adapter for every backend Django has (Redis, memcached, the database, files): the tokens,
the single-flight lock and the shared budget live where the application's other cached data
does. Needs Django (the ``django`` extra); imported only when used.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any

from ..values.deadline import MAX_SERVER_WAIT
from ..values.errors import ConfigurationError, TokenCacheWarning
from ..values.token import Token
from .base import (
    BaseTokenCache,
    RecordBudgets,
    budget_record,
    record_of,
    token_from_record,
)
from .memory import MemoryTokenCache

__all__ = ["DjangoTokenCache"]

#: Backends whose ``add`` is not atomic across processes, and what to use instead.
_REFUSED = {
    "LocMemCache": "Django's local-memory cache lives in one process: its add() is no lock "
    "across processes, and other processes do not see its tokens; use MemoryTokenCache for "
    "one process, or a Redis, memcached, database or file-based cache",
    "DummyCache": "Django's dummy cache stores nothing",
}


class DjangoTokenCache(RecordBudgets, BaseTokenCache):
    """A token cache in a Django cache (``django.core.cache.caches[alias]``), shared by every
    process that uses the same ``CACHES``.

    Keys as in every cache of ours (never the secret), values our JSON records, each stored for
    its token's lifetime. Single flight across processes: the first process that needs a token
    ``add``\\ s a lock key (atomic on Redis, memcached and the database; Django's file-based cache
    is locked with a file lock in its directory instead, as its ``add`` checks and then writes);
    the others poll until it is free or a token is stored; a holder that dies leaves it to expire
    after ``lock_ttl`` seconds. The budget of token requests is kept in the cache too, under the
    same kind of lock. Django's local-memory and dummy caches are refused with the reason. If
    the cache fails, a :class:`~officernd_auth.errors.TokenCacheWarning` is issued once and this
    process's memory serves until it answers again: an API call never fails because the cache
    is down.

    Constructing does no I/O and needs no configured Django: the cache is looked up when first
    used.

    Args:
        alias: the name in ``CACHES`` (default ``"default"``).
        prefix: prefix of every key.
        lock_ttl: seconds a lock lives if its holder dies.
        retry_interval: seconds to keep using memory after the cache failed, before trying again.

    Example:
        >>> from officernd_auth import OfficeRNDSession
        >>> session = OfficeRNDSession(token_cache=DjangoTokenCache("default"))  # doctest: +SKIP
    """

    def __init__(
        self,
        alias: str = "default",
        *,
        prefix: str = "officernd-auth:",
        lock_ttl: float = 10.0,
        retry_interval: float = 5.0,
    ) -> None:
        self.alias = alias
        self.prefix = prefix
        self.lock_ttl = float(lock_ttl)
        self.retry_interval = float(retry_interval)
        self._memory = MemoryTokenCache()
        self._down_until = 0.0
        self._warned = False
        self._checked: Any = None

    def __repr__(self) -> str:
        return f"<DjangoTokenCache alias={self.alias!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # In another process: the same alias of that process's CACHES.
        return (_rebuild, (self.alias, self.prefix, self.lock_ttl, self.retry_interval))

    @property
    def cache(self) -> Any:
        """The Django cache this object uses (``caches[alias]``).

        Raises:
            ConfigurationError: the backend cannot be shared between processes.
        """
        try:
            from django.core.cache import caches  # type: ignore[import-untyped, unused-ignore]
        except ModuleNotFoundError:
            raise ConfigurationError(
                "DjangoTokenCache needs Django: pip install 'officernd-auth[django]'"
            ) from None
        backend = caches[self.alias]
        if self._checked is not type(backend):
            why = _REFUSED.get(type(backend).__name__)
            if why is not None:
                raise ConfigurationError(f"DjangoTokenCache(alias={self.alias!r}): {why}")
            self._checked = type(backend)
        return backend

    # -- TokenCache -----------------------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        if not self._up():
            return self._memory.get(key)
        try:
            raw = self.cache.get(self.prefix + key)
        except ConfigurationError:
            raise
        except Exception as exc:  # any backend's failure: the cache is down, not the call
            self._down(exc)
            return self._memory.get(key)
        self._warned = False
        if raw is None:
            self._memory.delete(key)
            return None
        token = token_from_record(raw) if isinstance(raw, (str, bytes)) else None
        if token is None:
            # Not a record of ours: never used, removed so that the next token replaces it.
            with contextlib.suppress(Exception):
                self.cache.delete(self.prefix + key)
            warnings.warn(
                f"ignoring an unreadable token under {self.prefix}{key[:12]}…; it was removed "
                "and will be replaced by the next token",
                TokenCacheWarning,
                stacklevel=3,
            )
            return None
        self._memory.set(key, token)
        return token

    def set(self, key: str, token: Token) -> None:
        self._memory.set(key, token)
        lifetime = token.lifetime
        if lifetime > 0 and self._up():
            self._call("set", self.prefix + key, record_of(token), max(1, int(lifetime)))

    def delete(self, key: str) -> None:
        self._memory.delete(key)
        if self._up():
            self._call("delete", self.prefix + key)

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token`` unless a newer one was stored meanwhile (checked under the lock)."""
        self._memory.delete(key)
        if not self._up():
            return
        with self.lock(key, timeout=self.lock_ttl):
            stored = self.get(key)
            if stored is None or stored == token:
                self._call("delete", self.prefix + key)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:
        """Single flight across processes (see the class docstring); waits at most
        ``2 * lock_ttl`` or ``timeout`` seconds, then goes on without it."""
        if not self._up():
            yield
            return
        wait = 2 * self.lock_ttl if timeout is None else min(timeout, 2 * self.lock_ttl)
        with self._held(f"{self.prefix}{key}:lock", wait):
            yield

    # -- the shared token budget (policy.BudgetStore) -------------------------------------------

    def _peek_budget(self, application: str) -> dict[str, Any]:
        try:
            raw = self.cache.get(f"{self.prefix}budget:{application}")
        except ConfigurationError:
            raise
        except Exception as exc:
            raise OSError(f"the Django cache is unreachable ({type(exc).__name__})") from None
        try:
            return budget_record(json.loads(raw) if isinstance(raw, str) else None)
        except (ValueError, RecursionError):
            return budget_record(None)

    @contextlib.contextmanager
    def _budget_record(
        self, application: str, keep: float, timeout: float | None
    ) -> Iterator[dict[str, Any]]:
        """The application's record under a lock in the cache (``add``, or a file lock for the
        file-based cache), stored again for at least ``keep`` seconds past its latest time."""
        name = f"{self.prefix}budget:{application}"
        if not self._up():
            raise OSError("the Django cache is unreachable")
        wait = 2 * self.lock_ttl if timeout is None else max(0.0, min(timeout, 2 * self.lock_ttl))
        with self._held(name + ":lock", wait):
            try:
                raw = self.cache.get(name)
            except ConfigurationError:
                raise
            except Exception as exc:
                self._down(exc)
                raise OSError("the Django cache is unreachable") from None
            try:
                loaded = json.loads(raw) if isinstance(raw, str) else None
            except (ValueError, RecursionError):
                loaded = None  # not a record of ours: a fresh one replaces it
            record = budget_record(loaded)
            yield record
            now = time.time()
            latest = max(record["sent"], default=now)  # a request still in flight, perhaps
            longest = max(keep, 60.0, record["blocked_until"] - now, latest - now + keep)
            ttl = int(min(longest, MAX_SERVER_WAIT + 60.0)) + 1  # never a record for ever
            self._call("set", name, json.dumps(record), ttl)

    # -- locking and availability -----------------------------------------------------------------

    @contextlib.contextmanager
    def _held(self, name: str, wait: float) -> Iterator[None]:
        """``name`` locked across processes for the block, or not (with a warning) after
        ``wait`` seconds; a file lock for Django's file-based cache, ``add`` elsewhere."""
        cache = self.cache
        if type(cache).__name__ == "FileBasedCache":
            from django.conf import settings  # type: ignore[import-untyped, unused-ignore]

            yield from _file_locked(str(settings.CACHES[self.alias]["LOCATION"]), name, wait)
            return
        owner = os.urandom(16).hex()
        deadline = time.monotonic() + wait
        pause = 0.01
        while True:
            try:
                if cache.add(name, owner, timeout=max(1, int(self.lock_ttl))):
                    break
            except Exception as exc:
                self._down(exc)
                yield
                return
            if time.monotonic() >= deadline:
                warnings.warn(
                    f"another process held the token cache lock for the {wait:g} s this call "
                    "could wait; going ahead without it",
                    TokenCacheWarning,
                    stacklevel=4,
                )
                yield
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        try:
            yield
        finally:
            # Only the owner releases (a lock that expired and was taken by another stays).
            with contextlib.suppress(Exception):
                if cache.get(name) == owner:
                    cache.delete(name)

    def _call(self, method: str, *args: Any) -> None:
        try:
            getattr(self.cache, method)(*args)
        except ConfigurationError:
            raise
        except Exception as exc:
            self._down(exc)
        else:
            self._warned = False

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_interval
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"token cache: the Django cache {self.alias!r} failed ({type(exc).__name__}); "
                f"caching tokens in this process's memory until it answers again (retried "
                f"every {self.retry_interval:g} s)",
                TokenCacheWarning,
                stacklevel=4,
            )


def _file_locked(directory: str, name: str, wait: float) -> Iterator[None]:
    import hashlib

    import filelock

    path = os.path.join(directory, hashlib.sha256(name.encode()).hexdigest() + ".officernd-lock")
    lock = filelock.FileLock(path, timeout=wait, mode=0o600)
    try:
        # Private, as Django creates it (0700), and only the directory itself: never a tree
        # with the process's umask, where other local users could plant pickles Django loads.
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
        lock.acquire()
    except (filelock.Timeout, OSError):
        warnings.warn(
            "the token cache's file lock could not be taken in time; going ahead without it",
            TokenCacheWarning,
            stacklevel=5,
        )
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _rebuild(alias: str, prefix: str, lock_ttl: float, retry_interval: float) -> DjangoTokenCache:
    return DjangoTokenCache(alias, prefix=prefix, lock_ttl=lock_ttl, retry_interval=retry_interval)
