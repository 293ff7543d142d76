"""Turn a ``token_cache=`` argument, a path or a ``redis://`` URL into a cache."""

from __future__ import annotations

import os

from .base import TokenCache

__all__ = ["resolve_token_cache"]


def resolve_token_cache(value: TokenCache | str | os.PathLike[str] | None) -> TokenCache | None:
    """Turn a ``token_cache=`` setting into a cache.

    ``None`` gives ``None`` (the process-wide memory cache); a ``redis://``, ``rediss://`` or
    ``unix://`` URL gives a :class:`RedisTokenCache`; ``django://ALIAS`` a
    :class:`~officernd_auth.cache.django.DjangoTokenCache` on that alias of ``CACHES``; any
    other string or path gives a :class:`FileTokenCache` in that directory; a cache object is
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

        return FileTokenCache(text)
    return value
