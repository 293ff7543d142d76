"""Turn a ``token_cache=`` argument, a path, a ``redis://`` URL or the environment into a cache."""

from __future__ import annotations

import os

from ..token import Clock, system_clock
from .base import ENVIRONMENT_VARIABLE, TokenCache
from .file import FileTokenCache

__all__ = ["resolve_token_cache"]


def resolve_token_cache(
    value: TokenCache | str | os.PathLike[str] | None,
    *,
    clock: Clock = system_clock,
    leeway: float = 60.0,
) -> TokenCache | None:
    """Turn a ``token_cache=`` argument (or ``$OFFICERND_TOKEN_CACHE``) into a cache.

    ``None`` with no environment variable gives ``None`` (the process-wide memory cache); a
    ``redis://``, ``rediss://`` or ``unix://`` URL gives a :class:`RedisTokenCache`; any other
    string or path gives a :class:`FileTokenCache` in that directory; a cache object is kept.
    A file or Redis cache built here takes the given ``clock`` and ``leeway`` (the provider's).
    """
    if value is None:
        value = os.environ.get(ENVIRONMENT_VARIABLE) or None
        if value is None:
            return None
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if text.startswith(("redis://", "rediss://", "unix://")):
            from .redis import RedisTokenCache  # the redis package only when asked for

            return RedisTokenCache(text, clock=clock, leeway=leeway)
        return FileTokenCache(text, clock=clock, leeway=leeway)
    return value
