"""The error classes; imported from :mod:`officernd_auth.errors`, whose page describes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .error_base import OfficeRNDAuthError

if TYPE_CHECKING:
    from .token_errors import (
        InvalidClientError,
        InvalidScopeError,
        RateLimitedError,
        TokenEndpointError,
        TokenRequestError,
        error_class_for,
    )

__all__ = [
    "ConfigurationError",
    "InvalidClientError",
    "InvalidScopeError",
    "OfficeRNDAuthError",
    "RateLimitedError",
    "ScopeError",
    "ScopeMismatchWarning",
    "ScopeNotGrantedError",
    "ScopeNotGrantedWarning",
    "TokenCacheWarning",
    "TokenEndpointError",
    "TokenRequestError",
    "UnknownScopeWarning",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "error_class_for",
]


class ConfigurationError(OfficeRNDAuthError, ValueError):
    """An argument or environment variable is missing or unusable."""


class ScopeError(OfficeRNDAuthError, ValueError):
    """A scope is malformed or a near miss of a known scope."""


class ScopeNotGrantedError(OfficeRNDAuthError):
    """The server granted fewer scopes than were requested.

    Attributes:
        missing: the requested scopes that the token does not carry.
    """

    def __init__(self, message: str, *, missing: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.missing = missing


class WebhookError(OfficeRNDAuthError, ValueError):
    """An incoming webhook delivery cannot be trusted or read."""


class WebhookSignatureError(WebhookError):
    """The ``officernd-signature`` header is missing, malformed or stale, or no secret matches.

    The message says which check failed; it never holds the expected signature or a secret.
    """


class WebhookPayloadError(WebhookError):
    """A correctly signed body that is not an OfficeRND event (not JSON, no ``eventType``)."""


class UnknownScopeWarning(UserWarning):
    """A well-formed scope that is not in officernd-auth's catalogue; it is sent anyway."""


class ScopeMismatchWarning(UserWarning):
    """Scopes of one API version requested for a session on the other version."""


class ScopeNotGrantedWarning(UserWarning):
    """The token carries fewer scopes than requested and the session was told to warn."""


class TokenCacheWarning(UserWarning):
    """A token cache could not be read or written; officernd-auth carried on without it."""


for _class in (
    ConfigurationError, ScopeError, ScopeNotGrantedError, WebhookError, WebhookSignatureError,
    WebhookPayloadError, UnknownScopeWarning, ScopeMismatchWarning, ScopeNotGrantedWarning,
    TokenCacheWarning,
):  # fmt: skip
    _class.__module__ = "officernd_auth.errors"  # documented, pickled and shown under this name
del _class

#: The classes that derive from oauthlib's: loaded on first use (see the module's docstring).
_TOKEN_ERRORS = frozenset(
    {"InvalidClientError", "InvalidScopeError", "RateLimitedError", "TokenEndpointError",
     "TokenRequestError", "error_class_for"}
)  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _TOKEN_ERRORS:
        from . import token_errors

        value = getattr(token_errors, name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_TOKEN_ERRORS})
