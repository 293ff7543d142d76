"""Short paths inside one organisation, for every front end: ``"members"`` ->
``{api_url}/api/{version}/organizations/{org}/members``, and nothing that leaves it; and the
API's 429 decision (:func:`rate_limited_wait`).

No HTTP library here: the requests session and the httpx clients resolve their paths and decide
their 429 retries with it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from ..values.deadline import parse_retry_after
from ..values.errors import ConfigurationError
from ..values.urls import url_path

__all__ = [
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT",
    "check_org",
    "organisation_url",
    "rate_limited_wait",
    "resolve",
]

logger = logging.getLogger("officernd_auth.session")

#: ``(connect, read)`` seconds applied when a call passes no timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
#: The methods whose API 429 is retried after its ``Retry-After``.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: ``{api_url}/api/{api_version}/organizations/{org}``.
_ORGANISATION = "{}/api/{}/organizations/{}"
_ESCAPES = re.compile(r"%2f|%5c|\\", re.IGNORECASE)
# Paths made of plain segments cannot leave the organisation and need no further checks.
_PLAIN_PATH = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*/?")


def rate_limited_wait(
    method: str,
    url: str,
    retry_after: str | None,
    attempt: int,
    retries: tuple[int, float],
    *,
    replayable: bool = True,
) -> float | None:
    """The API's 429, for every front end: seconds to wait before sending the call again, or
    ``None`` (hand the 429 back).

    Sent again only when the method is idempotent, its body can be sent again (``replayable``)
    and fewer than ``retries[0]`` attempts were made; after the ``Retry-After`` the server gave
    (seconds or an HTTP date), else ``2 ** attempt`` s, at most ``retries[1]`` s.
    """
    most, longest = retries
    if attempt >= most or method.upper() not in IDEMPOTENT or not replayable:
        return None
    wait = parse_retry_after(retry_after)
    wait = min(wait if wait is not None else 2.0**attempt, longest)
    logger.warning("%s %s answered 429; retrying in %.1f s", method, url_path(url), wait)
    return wait


def check_org(org: str | None) -> str | None:
    """``org`` if it is an organisation slug (or None).

    Raises:
        ConfigurationError: it is empty or not one path segment.
    """
    if org is not None and (not org or "/" in org or org in {".", ".."}):
        raise ConfigurationError(
            f"org {org!r} is not an organisation slug: use the path segment of your admin "
            "portal, app.officernd.com/<slug>"
        )
    return org


def organisation_url(api_url: str, api_version: str, org: str | None) -> str:
    """``{api_url}/api/{api_version}/organizations/{org}``.

    Raises:
        ConfigurationError: no organisation was given.
    """
    if not org:
        raise ConfigurationError(
            "org is missing: pass org=... or set OFFICERND_ORG to resolve short paths "
            "(or call with an absolute URL)"
        )
    return _ORGANISATION.format(api_url, api_version, org)


def resolve(path: str, api_url: str, api_version: str, org: str | None) -> str:
    """Resolve ``path`` inside the organisation; absolute URLs come back unchanged.

    A full API path (``api/v2/organizations/acme/...``) is resolved against the API origin.

    Raises:
        ValueError: the path tries to leave the organisation (``..``, ``//host``, encoded
            slashes); use an absolute URL for anything outside it.
        ConfigurationError: a short path, and no organisation.
    """
    if path.startswith(("https://", "http://")):
        return path  # absolute: the common case, decided without parsing
    bare = path.lstrip("/")
    if bare.startswith(("api/v1/organizations/", "api/v2/organizations/")):
        # A full API path given as a short one: resolved against the API origin, never
        # appended to the organisation's path (that would double the prefix).
        _check_segments(bare)
        return f"{api_url}/{bare}"
    if _PLAIN_PATH.fullmatch(path):  # nothing to escape with: no parsing
        if org:  # the common case, on every call: formatted here rather than called
            return f"{_ORGANISATION.format(api_url, api_version, org)}/{bare}"
        return f"{organisation_url(api_url, api_version, org)}/{bare}"  # says what is missing
    parts = urlsplit(path)
    if parts.scheme and parts.netloc:
        return path
    if path.startswith("//") or parts.scheme:
        raise ValueError(
            f"{path!r} is neither a path nor an absolute URL: write 'https://host/...' for "
            "another host, or a path such as 'members'"
        )
    _check_segments(path)
    return f"{organisation_url(api_url, api_version, org)}/{bare}"


def _check_segments(path: str) -> None:
    parts = urlsplit(path)
    segments = unquote(parts.path).split("/")
    if any(s in {".", ".."} for s in segments) or _ESCAPES.search(parts.path):
        raise ValueError(
            f"path {path!r} tries to leave the organisation: use an absolute URL for "
            "resources outside it"
        )
