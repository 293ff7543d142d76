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
``except`` clauses written for requests-oauthlib keep working. Those classes (and oauthlib)
are loaded when one of them is first named (from ``officernd_auth.values.token_errors``):
importing the package, and sending with a cached token, never import oauthlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .values import errors as _errors
from .values.errors import (
    ConfigurationError,
    OfficeRNDAuthError,
    ScopeError,
    ScopeMismatchWarning,
    ScopeNotGrantedError,
    ScopeNotGrantedWarning,
    TokenCacheWarning,
    UnknownScopeWarning,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
)

if TYPE_CHECKING:
    from .values.token_errors import (
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


def __getattr__(name: str) -> object:
    value = getattr(_errors, name)  # the token errors: oauthlib is loaded on their first use
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
