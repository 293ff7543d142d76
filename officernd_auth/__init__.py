"""officernd-auth: OAuth 2 client-credentials authentication for OfficeRND, for ``requests``.

Example:
    >>> from officernd_auth import OfficeRNDSession
    >>> session = OfficeRNDSession("id", "secret", "flex.community.members.read", org="acme")
"""

from .auth import OfficeRNDAuth
from .cache import MemoryTokenCache, TokenCache
from .errors import (
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
from .provider import TokenProvider, reset
from .session import OfficeRNDSession
from .token import Token

__version__ = "0.1.0"

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
