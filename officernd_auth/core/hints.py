"""What to tell the user about an API answer: the scope a call needs, a wrong organisation.

Shared by the session, the auth object and the CLI, so each hint is written once.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "ORGANISATION_HINT",
    "nearest_resource",
    "needed_scope",
    "network_cause",
    "organisation_not_found",
]

# A pattern, compiled by re on first use (not at import: benchmarks, start-up table).
_API_PATH = r"/api/(?P<version>v[12])/organizations/[^/]+/(?P<resource>[^/?#]+)"

#: What to do when OfficeRND answers 500 "Organization not found".
ORGANISATION_HINT = (
    "the organisation slug does not exist: use the path segment of your admin portal "
    "(app.officernd.com/<slug>, shown under Settings -> Account details)"
)


def organisation_not_found(status: int, content: bytes) -> bool:
    """True for OfficeRND's answer to a wrong organisation slug: 500 "Organization not found"."""
    return status == 500 and b"Organization not found" in content[:512]


def needed_scope(method: str, url: str) -> str | None:
    """The scope an API call needs, when its URL is an OfficeRND API path we know."""
    match = re.search(_API_PATH, urlsplit(url).path)
    if match is None:
        return None
    from .scopes import required_scope  # scopes imports errors (and oauthlib): only when asked

    return required_scope(method, match["version"], match["resource"])


def nearest_resource(path: str) -> str | None:
    """The known API resource nearest to the first segment of ``path`` (``memebers`` ->
    ``members``), when it is not itself one."""
    import difflib

    from .scopes import KNOWN_SCOPES, path_segment

    known = {path_segment(scope.split(".")[2]) for scope in KNOWN_SCOPES if scope.count(".") >= 3}
    known |= {"offices", "teams", "members", "bookings"}  # v1 ("Hybrid") names
    first = path.strip("/").split("/", 1)[0]
    if not first or first in known:
        return None
    close = difflib.get_close_matches(first, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


#: Causes a network failure can have, by the name of an exception class in its chain.
_CAUSES = (
    ("NameResolutionError", "the host name was not found (DNS)"),
    ("gaierror", "the host name was not found (DNS)"),
    ("ConnectionRefusedError", "the connection was refused (nothing listens there?)"),
    ("ConnectTimeout", "connecting timed out"),
    ("ReadTimeout", "the answer timed out"),
    ("SSLCertVerificationError", "the TLS certificate was not trusted (CA bundle?)"),
    ("SSLError", "TLS failed"),
    ("ProxyError", "the proxy failed"),
    ("ConnectionResetError", "the connection was reset"),
)


def network_cause(error: BaseException) -> str:
    """What a requests/urllib3 network failure comes down to, in words, with its exception
    class: refused, DNS, timeout, TLS or proxy (they all read ``ConnectionError`` otherwise).
    Looks at class names through the chain and the wrapped reasons, without importing them."""
    seen: set[int] = set()
    stack: list[object] = [error]
    names: list[str] = []
    while stack:
        current = stack.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        names += [cls.__name__ for cls in type(current).__mro__]
        stack += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        stack += [arg for arg in current.args if isinstance(arg, BaseException)]
    for name, cause in _CAUSES:
        if name in names:
            return f"{cause} ({type(error).__name__})"
    return type(error).__name__
