"""The token-endpoint failures: :class:`TokenRequestError` and its subclasses, which are also
oauthlib's ``OAuth2Error`` (and ``InvalidClientError`` / ``InvalidScopeError``), so ``except``
clauses written for requests-oauthlib keep working.

Import them from :mod:`officernd_auth.errors`, which loads this module (and oauthlib, ~55 M
instructions) when one of them is first used: importing the package and sending with a cached
token never pay for it. Their ``__module__`` is ``officernd_auth.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping

from oauthlib.oauth2 import InvalidClientError as _OAuthlibInvalidClientError
from oauthlib.oauth2 import InvalidScopeError as _OAuthlibInvalidScopeError
from oauthlib.oauth2 import OAuth2Error

from .error_base import OfficeRNDAuthError

__all__ = [
    "InvalidClientError",
    "InvalidScopeError",
    "RateLimitedError",
    "TokenEndpointError",
    "TokenRequestError",
    "error_class_for",
]


class TokenRequestError(OfficeRNDAuthError, OAuth2Error):
    """Anything that stopped us getting a token from the token endpoint.

    Attributes:
        status_code: the HTTP status of the token response, or ``None`` when none came back.
        error: the RFC 6749 ``error`` code, when the server sent one.
        description: the server's ``error_description`` (scrubbed), when sent.
        retryable: ``True`` when the same request may succeed if sent again (a transport
            failure, a timeout, a 5xx): the retry policy retries only these.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
        retryable: bool = False,
    ) -> None:
        # Not OAuth2Error.__init__: it would rewrite the message as "(error) description".
        Exception.__init__(self, message)
        self.retryable = retryable
        self.status_code = status_code  # type: ignore[assignment]
        self.error = error
        self.description = description  # type: ignore[assignment]
        # OAuth2Error's attributes, so code written for oauthlib finds them.
        self.uri = None
        self.state = None
        self.redirect_uri = None
        self.client_id = None
        self.scopes = None
        self.response_type = None
        self.response_mode = None
        self.grant_type = None


class InvalidClientError(TokenRequestError, _OAuthlibInvalidClientError):
    """The token endpoint rejected the client id or secret."""


class InvalidScopeError(TokenRequestError, _OAuthlibInvalidScopeError):
    """The token endpoint refused a scope the application was not granted."""


class RateLimitedError(TokenRequestError):
    """Too many token requests: the server answered 429, or our own budget is spent.

    Attributes:
        retry_after: seconds to wait before the next token request may succeed, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        # Never retryable by the retry policy: a 429 blocks the budget instead.
        super().__init__(message, status_code=status_code, error=error, description=description)
        self.retry_after = retry_after


class TokenEndpointError(TokenRequestError):
    """The token endpoint failed: 5xx, transport failure, timeout, or an unusable body."""


# RFC 6749 section 5.2 error codes -> classes. Codes not listed fall back to TokenRequestError.
_ERROR_CLASSES: Mapping[str, type[TokenRequestError]] = {
    "invalid_client": InvalidClientError,
    "unauthorized_client": InvalidScopeError,
    "invalid_scope": InvalidScopeError,
    "temporarily_unavailable": TokenEndpointError,
    "server_error": TokenEndpointError,
}


def error_class_for(error_code: str | None) -> type[TokenRequestError]:
    """Return the exception class for an RFC 6749 ``error`` code (base class if unknown)."""
    if error_code is None:
        return TokenRequestError
    return _ERROR_CLASSES.get(error_code, TokenRequestError)


for _name in __all__:
    globals()[_name].__module__ = "officernd_auth.errors"
