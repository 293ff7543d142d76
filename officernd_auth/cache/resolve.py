"""Turn a ``token_cache=`` argument, a path or a ``redis://`` URL into a cache."""

from __future__ import annotations

import os
import threading
import weakref

from .base import TokenCache

__all__ = ["resolve_token_cache"]

#: The cache objects made from settings, by kind and setting (``("file", directory)``,
#: ``("redis", url)``, ``("django", alias)``). Owned by the providers that use them: an entry
#: lives as long as one of them refers to its cache (a weak-value map), so a thousand sessions
#: made from one ``redis://`` URL share one connection pool, and the pool closes when the last
#: of them is gone. A cache object the user passes is never entered here.
_FROM_SETTINGS: weakref.WeakValueDictionary[tuple[str, str], TokenCache] = (
    weakref.WeakValueDictionary()
)
_lock = threading.Lock()  # two threads with one new setting must make one object


def resolve_token_cache(value: TokenCache | str | os.PathLike[str] | None) -> TokenCache | None:
    """Turn a ``token_cache=`` setting into a cache.

    ``None`` gives ``None`` (the process-wide memory cache); a ``redis://``, ``rediss://`` or
    ``unix://`` URL gives a :class:`RedisTokenCache`; ``django://ALIAS`` a
    :class:`~officernd_auth.cache.django.DjangoTokenCache` on that alias of ``CACHES``; any
    other string or path gives a :class:`FileTokenCache` in that directory. Equal settings
    give the same object while any provider uses it (so providers made from one setting share
    its connection pool or in-memory copy, and their single flight, which is per credential and
    cache object); a cache object is kept as it is. (``$OFFICERND_TOKEN_CACHE``
    is read by :func:`~officernd_auth.core.settings.resolve_settings`, which passes it here.)
    """
    if not isinstance(value, (str, os.PathLike)):
        return value
    text = os.fspath(value)
    if text.startswith(("redis://", "rediss://", "unix://")):
        return _one_for(("redis", text))
    if text.startswith("django://"):
        return _one_for(("django", text.removeprefix("django://") or "default"))
    return _one_for(("file", os.path.abspath(os.path.expanduser(text)) if text else ""))


def _one_for(setting: tuple[str, str]) -> TokenCache:
    """The live cache object made from ``setting``, or a new one."""
    with _lock:
        cache = _FROM_SETTINGS.get(setting)
        if cache is None:
            cache = _FROM_SETTINGS[setting] = _make(*setting)
        return cache


def _make(kind: str, where: str) -> TokenCache:
    if kind == "redis":
        from .redis import RedisTokenCache  # the redis package only when asked for

        return RedisTokenCache(where)
    if kind == "django":
        from .django import DjangoTokenCache  # Django only when asked for

        return DjangoTokenCache(where)
    from .file import FileTokenCache  # imported when a directory is given

    return FileTokenCache(where or None)


def caches_from_settings() -> int:
    """How many cache objects made from settings are alive (for the leak tests)."""
    return len(_FROM_SETTINGS)
