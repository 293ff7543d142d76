"""officernd-auth: OAuth 2 client-credentials authentication for OfficeRND, for ``requests``.

The public names are imported on first use (PEP 562), so ``import officernd_auth`` and the CLI's
cached-token path stay fast; type checkers see them as ordinary imports.

Example:
    >>> from officernd_auth import OfficeRNDSession
    >>> session = OfficeRNDSession("id", "secret", "flex.community.members.read", org="acme")
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: `officernd-auth token` imports this package
if TYPE_CHECKING:
    from typing import Any

    from .cache import MemoryTokenCache, TokenCache
    from .core.flight import reset
    from .core.provider import TokenProvider
    from .requests_adapter.auth import OfficeRNDAuth
    from .requests_adapter.session import OfficeRNDSession
    from .values.errors import (
        ConfigurationError,
        InvalidClientError,
        InvalidScopeError,
        OfficeRNDAuthError,
        RateLimitedError,
        ScopeError,
        ScopeMismatchWarning,
        ScopeNotGrantedError,
        ScopeNotGrantedWarning,
        TokenEndpointError,
        TokenRequestError,
        UnknownScopeWarning,
        WebhookError,
        WebhookPayloadError,
        WebhookSignatureError,
    )
    from .values.token import Token

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_HOMES = {
    "OfficeRNDAuth": "requests_adapter.auth",
    "MemoryTokenCache": "cache",
    "TokenCache": "cache",
    "TokenProvider": "provider",  # the public face: plugs requests in for a bare provider
    "reset": "core.flight",
    "OfficeRNDSession": "requests_adapter.session",
    "Token": "values.token",
    **dict.fromkeys(
        [
            "ConfigurationError",
            "InvalidClientError",
            "InvalidScopeError",
            "OfficeRNDAuthError",
            "RateLimitedError",
            "ScopeError",
            "ScopeMismatchWarning",
            "ScopeNotGrantedError",
            "ScopeNotGrantedWarning",
            "TokenEndpointError",
            "TokenRequestError",
            "UnknownScopeWarning",
            "WebhookError",
            "WebhookPayloadError",
            "WebhookSignatureError",
        ],
        "errors",  # the public face, which loads the token errors (and oauthlib) on first use
    ),
}

__all__ = [
    "ConfigurationError",
    "InvalidClientError",
    "InvalidScopeError",
    "MemoryTokenCache",
    "OfficeRNDAuth",
    "OfficeRNDAuthError",
    "OfficeRNDSession",
    "RateLimitedError",
    "ScopeError",
    "ScopeMismatchWarning",
    "ScopeNotGrantedError",
    "ScopeNotGrantedWarning",
    "Token",
    "TokenCache",
    "TokenEndpointError",
    "TokenProvider",
    "TokenRequestError",
    "UnknownScopeWarning",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
    "reset",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
