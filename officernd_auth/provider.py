"""The token provider, :class:`TokenProvider`: valid tokens for one credential, fetched only when
needed. A public path to :mod:`officernd_auth.core.provider`, where the code is."""

from __future__ import annotations

from .core.provider import (
    TokenFetcher,
    TokenProvider,
    TokenStatus,
    reset,
    resolve_provider,
    wait_bound,
)

__all__ = [
    "TokenFetcher",
    "TokenProvider",
    "TokenStatus",
    "reset",
    "resolve_provider",
    "wait_bound",
]
