"""The file token cache: shared by every process of one user on one machine."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..events import emit
from ..values.environment import ENVIRONMENT, environment_value
from ..values.records import owner_is_not_me, read_trusted
from ..values.token import Token
from .base import (
    BUDGET_FORMAT,
    BaseTokenCache,
    RecordBudgets,
    budget_record,
    record_of,
    token_from_record,
)
from .memory import MemoryTokenCache

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CacheEntry", "FileTokenCache", "default_cache_dir"]

#: Opening never follows a link where the platform can refuse to.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: The names our caches write: token records and their locks (a cache key, 64 hex digits),
#: budget records and their locks (an application key, likewise), temporary files.
_OURS = re.compile(r"[0-9a-f]{64}\.(json|lock|budget|budget\.lock)|\.[0-9a-f]{64}\..*\.tmp")


def _warn(message: str, stacklevel: int) -> None:
    # errors imports oauthlib (~45 ms): only a cache that has something to say pays for it.
    from ..values.errors import TokenCacheWarning

    warnings.warn(message, TokenCacheWarning, stacklevel=stacklevel + 1)


def default_cache_dir() -> Path:
    """The platform's user cache directory for officernd-auth, or ``$OFFICERND_TOKEN_CACHE``."""
    from pathlib import Path  # pathlib and platformdirs only here: keeps imports fast

    configured = environment_value("token_cache")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("officernd-auth", appauthor=False)) / "tokens"


class CacheEntry(NamedTuple):
    """What ``cache show`` lists: no token value, ever."""

    key: str
    scopes: frozenset[str]
    expires_at: float
    path: Path


class FileTokenCache(RecordBudgets, BaseTokenCache):
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
        lock_timeout: seconds to wait for another process's lock before going ahead without it
            (a call's shorter deadline cuts the wait further).

    Example:
        >>> from officernd_auth import OfficeRNDSession
        >>> from officernd_auth.cache import FileTokenCache
        >>> session = OfficeRNDSession("id", "secret", "officernd.api.read", org="acme",
        ...                            api_version="v1", token_cache=FileTokenCache("/tmp/t"))
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = 30.0,
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
        # The provider holds the token it uses between renewals, so this runs once a renewal,
        # not once a request: it always looks at the file.
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
        try:
            self._ensure_directory()  # at every read: is the directory (still) trustworthy?
        except OSError as exc:
            self._degrade(f"cannot use {self.directory} ({exc.strerror or exc})")
            return self._memory.get(key)
        token = self._read(path)
        with self._lock:
            self._seen[key] = stamp
            if token is None:
                self._memory.delete(key)
            else:
                self._memory.set(key, token)
            if len(self._seen) > 2 * len(self._memory) + 64:
                # The in-memory copy drops expired tokens; their stamps go with them (a cache
                # object a process keeps serves credentials that come and go).
                self._seen = {k: v for k, v in self._seen.items() if self._memory.get(k)}
        return token

    def set(self, key: str, token: Token) -> None:
        self._memory.set(key, token)
        if self._degraded:
            return
        try:
            self._ensure_directory()
            _write(self.path_for(key), record_of(token))
        except OSError as exc:
            self._degrade(f"cannot write to {self.directory} ({exc.strerror or exc})")

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token``, unless the file already holds a newer one (another process's):
        checked and removed under the key's cross-process lock, which every process holds
        while it stores a token, so a token stored meanwhile is never removed."""
        with self.lock(key, timeout=min(self.lock_timeout, 5.0)):
            if self.get(key) == token:
                self.delete(key)

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
    def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the cross-process lock for ``key`` (used by the provider around a fetch),
        waiting at most ``lock_timeout`` or ``timeout`` seconds, whichever is shorter."""
        if self._degraded:
            yield
            return
        import filelock  # only when a token is fetched: keeps start-up fast

        try:
            self._ensure_directory()
            wait = self.lock_timeout if timeout is None else min(timeout, self.lock_timeout)
            file_lock = filelock.FileLock(
                str(self.directory / f"{key}.lock"), timeout=wait, mode=0o600
            )
            file_lock.acquire()
        except filelock.Timeout:
            if timeout is not None and timeout < self.lock_timeout:
                yield  # the call's own deadline ran out: the provider says so, not the cache
                return
            _warn(
                f"another process held the token cache lock for the {wait:g} s this call could "
                "wait; going ahead without it",
                4,
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

    # -- the shared token budget (policy.BudgetStore) ---------------------------------------

    @contextlib.contextmanager
    def _budget_record(
        self, application: str, keep: float, timeout: float | None
    ) -> Iterator[dict[str, Any]]:
        """Read, change and write an application's budget file under its own file lock (waited
        for at most ``lock_timeout`` too); a file keeps it however long (``keep`` unused)."""
        if self._degraded:
            raise OSError("the token cache directory is not usable")
        import filelock

        self._ensure_directory()
        path = self.directory / f"{application}.budget"
        wait = self.lock_timeout if timeout is None else max(0.0, min(timeout, self.lock_timeout))
        budget_lock = filelock.FileLock(f"{path}.lock", timeout=wait, mode=0o600)
        try:
            budget_lock.acquire()
        except filelock.Timeout:
            raise OSError(f"the budget lock {path}.lock stayed held") from None
        try:
            raw, _ = read_trusted(path)
            record = _budget_from(raw)
            yield record
            _write(path, json.dumps({"format": BUDGET_FORMAT, **record}))
        finally:
            budget_lock.release()

    def _peek_budget(self, application: str) -> dict[str, Any]:
        raw, _ = read_trusted(self.directory / f"{application}.budget", remove_untrusted=False)
        return _budget_from(raw)

    def budget_applications(self) -> list[str]:
        with contextlib.suppress(OSError):
            paths = sorted(self.directory.glob("*.budget"))
            return [p.name.removesuffix(".budget") for p in paths if _OURS.fullmatch(p.name)]
        return []

    # -- management (the CLI's ``cache show``, ``cache clear`` and ``status``) ---------------

    def entries(self) -> list[CacheEntry]:
        """Every readable token entry, without token values. Reads only: never removes a file."""
        found = []
        for path in self._token_files():
            raw, _ = read_trusted(path, remove_untrusted=False)
            token = token_from_record(raw) if raw else None
            if token is not None:
                found.append(CacheEntry(path.stem, token.scopes, token.expires_at, path))
        return found

    def foreign_files(self) -> list[str]:
        """The names in the directory that no officernd-auth cache writes: a directory with
        any is not a token cache (``cache show`` and ``cache clear`` refuse it)."""
        with contextlib.suppress(OSError):
            return sorted(p.name for p in self.directory.iterdir() if not _OURS.fullmatch(p.name))
        return []

    def clear(self) -> int:
        """Delete every token record of ours (nothing else); return how many were deleted."""
        removed = 0
        for path in self._token_files():
            raw, _ = read_trusted(path, remove_untrusted=False)
            if raw and token_from_record(raw) is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        self._memory.clear()
        self._seen.clear()
        return removed

    def clear_budgets(self) -> int:
        """Delete every application's budget record (the token requests counted, any 429 wait);
        return how many were deleted. For ``officernd-auth cache clear --budget``, the way out
        of a wait recorded in error: safe when no process of those applications is sending
        token requests meanwhile (it forgets what they spent)."""
        removed = 0
        with contextlib.suppress(OSError):
            for path in sorted(self.directory.glob("*.budget")):
                if _OURS.fullmatch(path.name):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed += 1
        return removed

    # -- internals ----------------------------------------------------------------------------

    def _token_files(self) -> list[Path]:
        with contextlib.suppress(OSError):
            return sorted(p for p in self.directory.glob("*.json") if _OURS.fullmatch(p.name))
        return []

    def _ensure_directory(self) -> None:
        """Create the directory (and every missing parent) 0700, then check it can be trusted.

        mkdir's mode is filtered by the umask, which can only remove bits, and each missing
        parent is made one by one with the same mode (``Path.mkdir(parents=True)`` would make
        them 0777 under umask 000). The directory must belong to this user and be writable by
        no one else: another user who can write there could plant a token of their choosing.

        Raises:
            OSError: the directory cannot be made, or cannot be trusted (the caller degrades
                to memory with a warning).
        """
        missing = []
        here = self.directory
        while not here.exists() and here != here.parent:
            missing.append(here)
            here = here.parent
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o700)
        # Checked at every use, not once: whoever can write a parent could swap the directory
        # after a check. Checked through an opened descriptor, so what is checked is what is
        # tightened; a link is followed only to look, never to chmod what it points at.
        linked = os.path.islink(self.directory)
        descriptor = os.open(self.directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISDIR(info.st_mode):
                raise OSError(f"{self.directory} is not a directory")
            if owner_is_not_me(info):
                raise OSError(f"{self.directory} belongs to another user (uid {info.st_uid})")
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o022:
                raise OSError(
                    f"{self.directory} is writable by group or others (mode {mode:o}); make it "
                    "0700 or use another directory"
                )
            if mode & 0o077:
                if linked:
                    raise OSError(
                        f"{self.directory} is a link to a directory others can read (mode "
                        f"{mode:o}); it is not changed through a link: make it 0700"
                    )
                os.fchmod(descriptor, 0o700)  # ours and only readable by others: tightened
        finally:
            os.close(descriptor)

    def _read(self, path: Path, quiet: bool = False) -> Token | None:
        raw, why = read_trusted(path)
        if raw is None:
            return None
        why = why or "not an officernd-auth token record"
        token = token_from_record(raw) if raw else None
        if token is None and not quiet:
            _warn(
                f"ignoring the unreadable token cache file {path} ({why}); "
                "it will be replaced by the next token",
                4,
            )
        return token

    def _degrade(self, why: str) -> None:
        if not self._degraded:
            self._degraded = True
            emit("store.down", str(self.directory), reason=why)
            _warn(
                f"token cache: {why}; caching tokens in memory for this process instead. "
                f"Set {ENVIRONMENT['token_cache']} to a writable directory to share tokens "
                "between processes.",
                4,
            )


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` 0600, all at once: a temporary file renamed over the old one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _budget_from(raw: bytes | None) -> dict[str, Any]:
    """A budget record read from a file; a fresh one for anything that is not ours."""
    try:
        loaded = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        loaded = None
    if not isinstance(loaded, dict) or loaded.get("format") != BUDGET_FORMAT:
        loaded = None
    return budget_record(loaded)
