"""What to tell the user about an API answer: the scope a call needs, a wrong organisation.

Shared by the session, the auth object and the CLI, so each hint is written once.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["ORGANISATION_HINT", "needed_scope", "organisation_not_found"]

_API_PATH = re.compile(r"/api/(?P<version>v[12])/organizations/[^/]+/(?P<resource>[^/?#]+)")

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
    match = _API_PATH.search(urlsplit(url).path)
    if match is None:
        return None
    from .scopes import required_scope  # scopes imports errors (and oauthlib): only when asked

    return required_scope(method, match["version"], match["resource"])
