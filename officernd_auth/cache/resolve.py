"""Turn a ``token_cache=`` argument, a path or a ``redis://`` URL into a cache."""

from __future__ import annotations

import os

from ..interning import one_for
from .base import TokenCache

__all__ = ["resolve_token_cache"]

#: The file caches made from a directory setting, one per directory (bounded: see ``one_for``).
_FILE_CACHES: dict[str, TokenCache] = {}


def resolve_token_cache(value: TokenCache | str | os.PathLike[str] | None) -> TokenCache | None:
    """Turn a ``token_cache=`` setting into a cache.

    ``None`` gives ``None`` (the process-wide memory cache); a ``redis://``, ``rediss://`` or
    ``unix://`` URL gives a :class:`RedisTokenCache`; ``django://ALIAS`` a
    :class:`~officernd_auth.cache.django.DjangoTokenCache` on that alias of ``CACHES``; any
    other string or path gives a :class:`FileTokenCache` in that directory, the same object for
    every setting that names the same directory (so providers made from it share its in-memory
    copy and their single flight, which is per credential and cache object); a cache object is
    kept. (``$OFFICERND_TOKEN_CACHE``
    is read by :func:`~officernd_auth.settings.resolve_settings`, which passes it here.)
    """
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if text.startswith(("redis://", "rediss://", "unix://")):
            from .redis import RedisTokenCache  # the redis package only when asked for

            return RedisTokenCache(text)
        if text.startswith("django://"):
            from .django import DjangoTokenCache  # Django only when asked for

            return DjangoTokenCache(text.removeprefix("django://") or "default")
        from .file import FileTokenCache  # imported when a directory is given

        directory = os.path.abspath(os.path.expanduser(text)) if text else ""
        return one_for(_FILE_CACHES, directory, lambda: FileTokenCache(directory or None), 64)
    return value
