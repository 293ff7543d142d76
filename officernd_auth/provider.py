"""The token provider, :class:`TokenProvider`: valid tokens for one credential, fetched only when
needed. A public path to :mod:`officernd_auth.core.provider`, where the code is.

A provider that no front end gave an HTTP adapter (one made on its own, as
``TokenProvider(...).get_token()``) sends its token requests over requests, the package's core
dependency: this module plugs requests' shared transport in as the core's default.
"""

from __future__ import annotations

from typing import Any

from .core import fetching
from .core.provider import (
    TokenFetcher,
    TokenProvider,
    TokenStatus,
    reset,
    resolve_provider,
    wait_bound,
)
from .core.settings import Settings

__all__ = [
    "TokenFetcher",
    "TokenProvider",
    "TokenStatus",
    "reset",
    "resolve_provider",
    "wait_bound",
]


def _requests_sender(settings: Settings) -> Any:
    from .requests_adapter.transport import PlainTransport  # requests is imported here, if ever

    return PlainTransport.for_settings(settings.verify, settings.cert, settings.proxies)


fetching.default_sender = _requests_sender
