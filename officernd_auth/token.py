"""The access token as a value. A public path to :mod:`officernd_auth.values.token`, where the
code is."""

from __future__ import annotations

from .values.token import (
    BEARER_TOKEN,
    Clock,
    Token,
    TokenFetcher,
    TokenStatus,
    system_clock,
)

__all__ = [
    "BEARER_TOKEN",
    "Clock",
    "Token",
    "TokenFetcher",
    "TokenStatus",
    "system_clock",
]
