"""Where tokens are kept between requests: the ``TokenCache`` contract and its backends.

* :class:`MemoryTokenCache` (``cache.memory``): one process; the default.
* :class:`FileTokenCache` (``cache.file``): every process of one user on one machine (CLI runs,
  cron jobs, multiprocessing workers), with a file lock for single flight across processes.
* :class:`RedisTokenCache` (``cache.redis``): every worker of a fleet, across hosts, with a
  Redis lock. Needs the ``redis`` extra; imported only when used.

``cache.base`` holds the contract every backend implements (``get``, ``set``, ``delete``,
``discard``, ``lock``; :class:`BaseTokenCache` gives the trivial ones), the key scheme and the
record format; ``cache.resolve`` turns a path, URL or ``$OFFICERND_TOKEN_CACHE`` into a backend.
The default is ``DEFAULT_MEMORY_CACHE``, shared by every object in the process, so that
re-creating a session in a notebook costs no token request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..values.environment import ENVIRONMENT
from .base import (
    FILE_FORMAT,
    BaseTokenCache,
    TokenCache,
    application_key,
    cache_key,
    record_of,
    token_from_record,
)
from .memory import DEFAULT_MEMORY_CACHE, MemoryTokenCache
from .resolve import resolve_token_cache

#: A directory or ``redis://`` URL that every process of the user shares by default.
ENVIRONMENT_VARIABLE = ENVIRONMENT["token_cache"]

if TYPE_CHECKING:
    from .django import DjangoTokenCache
    from .file import CacheEntry, FileTokenCache, default_cache_dir
    from .redis import RedisTokenCache

__all__ = [
    "DEFAULT_MEMORY_CACHE",
    "ENVIRONMENT_VARIABLE",
    "FILE_FORMAT",
    "BaseTokenCache",
    "CacheEntry",
    "DjangoTokenCache",
    "FileTokenCache",
    "MemoryTokenCache",
    "RedisTokenCache",
    "TokenCache",
    "application_key",
    "cache_key",
    "default_cache_dir",
    "record_of",
    "resolve_token_cache",
    "token_from_record",
]


def __getattr__(name: str) -> Any:
    # The file backend is imported on first use (the default cache is in memory), the Redis
    # one too: most users never need it.
    if name in ("CacheEntry", "FileTokenCache", "default_cache_dir"):
        from . import file

        return getattr(file, name)
    if name == "RedisTokenCache":
        from .redis import RedisTokenCache

        return RedisTokenCache
    if name == "DjangoTokenCache":  # needs Django: imported on first use too
        from .django import DjangoTokenCache

        return DjangoTokenCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
