"""Every exception and warning that officernd-auth raises, in one tree.

::

    OfficeRNDAuthError                      root: catch this to catch everything
    ├── ConfigurationError (ValueError)     bad or missing argument / environment variable
    ├── ScopeError (ValueError)             malformed scope, or a near miss of a known scope
    ├── TokenRequestError (oauthlib OAuth2Error)   no token could be obtained
    │   ├── InvalidClientError              wrong client id or secret (also oauthlib's class)
    │   ├── InvalidScopeError               a scope the application was not granted (ditto)
    │   ├── RateLimitedError                429, or our own budget of token requests is spent
    │   └── TokenEndpointError              5xx, transport failure, timeout, unusable body
    ├── ScopeNotGrantedError                the token came back with fewer scopes than asked
    └── WebhookError (ValueError)           an incoming webhook cannot be trusted or read
        ├── WebhookSignatureError           its signature header is missing, malformed, stale
        │                                   or does not match the body
        └── WebhookPayloadError             signed correctly, but not an OfficeRND event

    UnknownScopeWarning (UserWarning)       a well-formed scope that is not in the catalogue
    ScopeMismatchWarning (UserWarning)      v1 scopes on a v2 session, or the reverse
    ScopeNotGrantedWarning (UserWarning)    a narrower grant, when told to warn instead of raise
    TokenCacheWarning (UserWarning)         a cache file was unreadable or unwritable: recovered

No message or attribute of these classes ever carries a client secret or an access token:
response snippets are scrubbed before they are stored.

Every token-endpoint failure is also an ``oauthlib.oauth2.OAuth2Error``, and
``InvalidClientError`` / ``InvalidScopeError`` are also oauthlib's classes of the same names, so
``except`` clauses written for requests-oauthlib keep working.
"""

from __future__ import annotations

from collections.abc import Mapping

from oauthlib.oauth2 import InvalidClientError as _OAuthlibInvalidClientError
from oauthlib.oauth2 import InvalidScopeError as _OAuthlibInvalidScopeError
from oauthlib.oauth2 import OAuth2Error

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


class OfficeRNDAuthError(Exception):
    """Root of every error raised by officernd-auth.

    The message is ``args[0]``; extra attributes live in ``__dict__`` so that
    ``copy.copy`` and ``pickle`` round-trip every subclass.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The human-readable message, saying what went wrong and what to do."""
        return str(self.args[0]) if self.args else ""


class ConfigurationError(OfficeRNDAuthError, ValueError):
    """An argument or environment variable is missing or unusable."""


class ScopeError(OfficeRNDAuthError, ValueError):
    """A scope is malformed or a near miss of a known scope."""


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
