"""Where tokens are kept between requests: the ``TokenCache`` protocol and its backends.

* :class:`MemoryTokenCache`: one process; the default.
* :class:`FileTokenCache`: every process of one user on one machine (CLI runs, cron jobs,
  multiprocessing workers), with a file lock for single flight across processes.
* :class:`RedisTokenCache`: every worker of a fleet, across hosts, with a Redis lock.

A backend may also offer ``lock(key)``, a context manager held around check-fetch-store, and
``discard(key, token)``, a delete that spares a newer token; the provider uses them when present,
so that single flight reaches as far as the cache does.

A cache maps an opaque key (see :func:`cache_key`: token URL, client id, a hash of the secret and
the scope set) to a :class:`~officernd_auth.token.Token`. It never sees the client secret.
The default is :data:`DEFAULT_MEMORY_CACHE`, shared by every object in the process, so that
re-creating a session in a notebook costs no token request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import stat
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import TokenCacheWarning
from .token import Token

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_MEMORY_CACHE",
    "CacheEntry",
    "FileTokenCache",
    "MemoryTokenCache",
    "RedisTokenCache",
    "TokenCache",
    "cache_key",
    "default_cache_dir",
    "resolve_token_cache",
]


@runtime_checkable
class TokenCache(Protocol):
    """What the provider needs from a token store. Implementations must be thread-safe."""

    def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``."""

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any earlier one."""

    def delete(self, key: str) -> None:
        """Forget the token under ``key``; no error if there is none."""


def cache_key(token_url: str, client_id: str, client_secret: str, scopes: Iterable[str]) -> str:
    """The cache key for one credential. Contains a one-way hash of the secret, never the secret.

    Two different secrets for the same client id get different keys, so a wrong secret can never
    be answered with a token another secret obtained.
    """
    secret_hash = hashlib.sha256(f"{token_url}\0{client_id}\0{client_secret}".encode()).hexdigest()
    material = json.dumps([token_url, client_id, secret_hash, sorted(set(scopes))])
    return hashlib.sha256(material.encode()).hexdigest()


class MemoryTokenCache:
    """A thread-safe in-process cache.

    Example:
        >>> cache = MemoryTokenCache()
        >>> cache.get("nothing") is None
        True
    """

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Token | None:
        # A dict read is atomic under the GIL; no lock on the hot path.
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"<MemoryTokenCache entries={len(self._tokens)}>"

    def __reduce__(self) -> tuple[type[MemoryTokenCache], tuple[()]]:
        # Tokens and locks are not carried across pickling: a copy starts empty.
        return (MemoryTokenCache, ())


DEFAULT_MEMORY_CACHE = MemoryTokenCache()


#: Marks our cache files, so that a file of another format is recognised and replaced.
FILE_FORMAT = "officernd-auth/token-cache/1"
ENVIRONMENT_VARIABLE = "OFFICERND_TOKEN_CACHE"


def default_cache_dir() -> Path:
    """The platform's user cache directory for officernd-auth, or ``$OFFICERND_TOKEN_CACHE``."""
    from pathlib import Path  # pathlib and platformdirs only here: keeps imports fast

    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("officernd-auth", appauthor=False)) / "tokens"


@dataclass(frozen=True)
class CacheEntry:
    """What ``cache show`` lists: no token value, ever."""

    key: str
    scopes: frozenset[str]
    expires_at: float
    path: Path


class FileTokenCache:
    """A token cache in files, shared by every process of the user on this machine.

    One file per credential, named by the cache key, holding the access token and its absolute
    expiry (never the client secret). The directory is created 0700 and each file 0600, both
    with those modes from the start; writes go to a temporary file that is renamed over the old
    one, so a reader never sees half a file. A file lock held only around check-fetch-store
    makes N processes that need a token at once send one token request; the operating system
    releases it when a holder dies, and ``lock_timeout`` bounds the wait for a hung one.

    A corrupted, truncated or foreign file is ignored with a
    :class:`~officernd_auth.errors.TokenCacheWarning` and replaced; a directory that cannot be
    created or written degrades to memory caching with a warning, never an error.

    Args:
        directory: where the files live; ``$OFFICERND_TOKEN_CACHE`` or the platform's user
            cache directory by default.
        lock_timeout: seconds to wait for another process's lock before going ahead without it.

    Example:
        >>> from officernd_auth import OfficeRNDSession
        >>> from officernd_auth.cache import FileTokenCache
        >>> session = OfficeRNDSession("id", "secret", "officernd.api.read", org="acme",
        ...                            api_version="v1", token_cache=FileTokenCache("/tmp/t"))
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, lock_timeout: float = 30.0
    ) -> None:
        from pathlib import Path

        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.lock_timeout = lock_timeout
        self._memory = MemoryTokenCache()
        self._seen: dict[str, tuple[int, int, int]] = {}
        self._degraded = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<FileTokenCache {str(self.directory)!r}>"

    def __reduce__(self) -> tuple[type[FileTokenCache], tuple[str], dict[str, float]]:
        return (FileTokenCache, (str(self.directory),), {"lock_timeout": self.lock_timeout})

    def __setstate__(self, state: dict[str, float]) -> None:
        self.lock_timeout = state["lock_timeout"]

    def path_for(self, key: str) -> Path:
        """The file that holds the token for ``key``."""
        return self.directory / f"{key}.json"

    # -- TokenCache ---------------------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        if self._degraded:
            return self._memory.get(key)
        path = self.path_for(key)
        try:
            info = path.stat()
        except FileNotFoundError:
            self._seen.pop(key, None)
            self._memory.delete(key)
            return None
        except OSError as exc:
            self._degrade(f"cannot read {path} ({exc.strerror})")
            return self._memory.get(key)
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if self._seen.get(key) == stamp:
            return self._memory.get(key)  # unchanged since we last read it: no parsing
        token = self._read(path)
        with self._lock:
            self._seen[key] = stamp
            if token is None:
                self._memory.delete(key)
            else:
                self._memory.set(key, token)
        return token

    def set(self, key: str, token: Token) -> None:
        self._memory.set(key, token)
        if self._degraded:
            return
        try:
            self._ensure_directory()
            path = self.path_for(key)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(_record_of(token))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            self._degrade(f"cannot write to {self.directory} ({exc.strerror or exc})")

    def delete(self, key: str) -> None:
        self._memory.delete(key)
        self._seen.pop(key, None)
        if self._degraded:
            return
        try:
            self.path_for(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._degrade(f"cannot delete in {self.directory} ({exc.strerror})")

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the cross-process lock for ``key`` (used by the provider around a fetch)."""
        if self._degraded:
            yield
            return
        import filelock  # only when a token is fetched: keeps start-up fast

        try:
            self._ensure_directory()
            file_lock = filelock.FileLock(
                str(self.directory / f"{key}.lock"), timeout=self.lock_timeout, mode=0o600
            )
            file_lock.acquire()
        except filelock.Timeout:
            warnings.warn(
                f"another process has held the token cache lock for over {self.lock_timeout} s; "
                "going ahead without it",
                TokenCacheWarning,
                stacklevel=4,
            )
            yield
            return
        except OSError as exc:
            self._degrade(f"cannot lock in {self.directory} ({exc.strerror or exc})")
            yield
            return
        try:
            yield
        finally:
            file_lock.release()

    # -- management (the CLI's ``cache show`` and ``cache clear``) ---------------------------

    def entries(self) -> list[CacheEntry]:
        """Every readable entry, without token values."""
        found = []
        with contextlib.suppress(OSError):
            for path in sorted(self.directory.glob("*.json")):
                token = self._read(path, quiet=True)
                if token is not None:
                    found.append(CacheEntry(path.stem, token.scopes, token.expires_at, path))
        return found

    def clear(self) -> int:
        """Delete every cached token file; return how many were deleted."""
        removed = 0
        with contextlib.suppress(OSError):
            for path in self.directory.glob("*.json"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        self._memory.clear()
        self._seen.clear()
        return removed

    # -- internals ----------------------------------------------------------------------------

    def _ensure_directory(self) -> None:
        # mkdir's mode is filtered by the umask, which can only remove bits: the directory is
        # never more open than 0700, not even for an instant. An existing, more open one is
        # tightened.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(self.directory.stat().st_mode) & 0o077:
            os.chmod(self.directory, 0o700)

    def _read(self, path: Path, quiet: bool = False) -> Token | None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            token, why = None, type(exc).__name__
        else:
            token, why = _token_from_record(raw), "not an officernd-auth token record"
        if token is None and not quiet:
            warnings.warn(
                f"ignoring the unreadable token cache file {path} ({why}); "
                "it will be replaced by the next token",
                TokenCacheWarning,
                stacklevel=4,
            )
        return token

    def _degrade(self, why: str) -> None:
        if not self._degraded:
            self._degraded = True
            warnings.warn(
                f"token cache: {why}; caching tokens in memory for this process instead. "
                f"Set {ENVIRONMENT_VARIABLE} to a writable directory to share tokens "
                "between processes.",
                TokenCacheWarning,
                stacklevel=4,
            )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


class RedisTokenCache:
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
            clamped to half the token's lifetime as the provider clamps it).
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
    ) -> None:
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the environment
            from .errors import ConfigurationError

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
            (self._url, self.prefix, self.leeway, self.lock_ttl, self.retry_interval),
        )

    # -- TokenCache ---------------------------------------------------------------------------

    def get(self, key: str) -> Token | None:
        current = self._memory.get(key)
        if current is not None and time.time() < current.expires_at - current.effective_leeway(
            self.leeway
        ):
            return current  # fresh in this process: no round trip to Redis per API call
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
            return None
        token = _token_from_record(raw)
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
        now = time.time()
        ttl = token.expires_at - token.effective_leeway(self.leeway) - now
        if ttl <= 0 or not self._up():
            return
        try:
            self._redis.set(self.prefix + key, _record_of(token), px=max(1, int(ttl * 1000)))
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
        """Forget ``token``, but only if Redis still holds that one (not a newer one)."""
        self._memory.delete(key)
        if not self._up():
            return
        try:
            self._redis.eval(self._RELEASE, 1, self.prefix + key, _record_of(token))
        except self._errors as exc:
            self._down(exc)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Single flight across hosts; see the class docstring. Never raises for Redis faults."""
        if not self._up():
            yield
            return
        lock_key = f"{self.prefix}{key}:lock"
        owner = os.urandom(16).hex()
        deadline = time.monotonic() + 2 * self.lock_ttl
        delay = 0.02
        acquired = False
        try:
            while True:
                if self._redis.set(lock_key, owner, nx=True, px=int(self.lock_ttl * 1000)):
                    acquired = True
                    break
                if self._redis.exists(self.prefix + key) or time.monotonic() > deadline:
                    break  # the holder stored a token (or vanished): go and read it
                time.sleep(delay * random.uniform(0.5, 1.0))
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
    """A Redis URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _record_of(token: Token) -> str:
    return json.dumps(
        {
            "format": FILE_FORMAT,
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "obtained_at": token.obtained_at,
            "scopes": sorted(token.scopes),
        }
    )


def _token_from_record(raw: str | bytes) -> Token | None:
    try:
        record = json.loads(raw)
        if not isinstance(record, dict) or record.get("format") != FILE_FORMAT:
            return None
        return Token(
            access_token=_text(record["access_token"]),
            expires_at=float(record["expires_at"]),
            obtained_at=float(record["obtained_at"]),
            scopes=frozenset(_text(s) for s in record["scopes"]),
            token_type=_text(record.get("token_type", "Bearer")),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def resolve_token_cache(value: TokenCache | str | os.PathLike[str] | None) -> TokenCache | None:
    """Turn a ``token_cache=`` argument (or ``$OFFICERND_TOKEN_CACHE``) into a cache.

    ``None`` with no environment variable gives ``None`` (the process-wide memory cache); a
    ``redis://``, ``rediss://`` or ``unix://`` URL gives a :class:`RedisTokenCache`; any other
    string or path gives a :class:`FileTokenCache` in that directory; a cache object is kept.
    """
    if value is None:
        value = os.environ.get(ENVIRONMENT_VARIABLE) or None
        if value is None:
            return None
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if text.startswith(("redis://", "rediss://", "unix://")):
            return RedisTokenCache(text)
        return FileTokenCache(text)
    return value
