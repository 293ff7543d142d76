"""URLs: the transport rule (https, or http on loopback), one spelling per URL and per server,
and the path shown in messages. Pure; no HTTP library."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .interning import same
from .records import is_normal_url

if TYPE_CHECKING:
    from .errors import ConfigurationError

__all__ = ["check_url", "is_loopback", "normalise_url", "origin_of", "origin_url", "url_path"]


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(name: str, url: str) -> str:
    """Check that ``url`` is ``https``, or ``http`` on a loopback host; return it without a final /.

    Raises:
        ConfigurationError: any other scheme, or no host.
    """
    if not isinstance(url, str):
        raise _configuration_error(f"{name} must be a string, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        raise _configuration_error(
            f"{name} {url!r} is not an absolute URL: give it as https://host/..."
        )
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(parts.hostname)):
        if parts.username or parts.password:
            raise _configuration_error(f"{name} must not carry credentials in the URL")
        return url.strip().rstrip("/")
    raise _configuration_error(
        f"{name} {parts.scheme}://{parts.hostname}... must use https (plain http is allowed only "
        "for localhost/127.0.0.1/::1, e.g. the FakeOfficeRND emulator)"
    )


def normalise_url(url: str) -> str:
    """One spelling per URL: scheme and host lower-case, default port and empty query dropped.

    Budgets and cache keys use it, so ``HTTPS://Host:443/oauth/token?`` and
    ``https://host/oauth/token`` share one budget of token requests.
    """
    if is_normal_url(url):
        return same(url)  # already so (the rule the cached-token command reads keys by)
    return same(parsed_spelling(url))


def parsed_spelling(url: str) -> str:
    """:func:`normalise_url`'s answer, found by parsing ``url`` whatever its spelling."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, {"https": 443, "http": 80}.get(scheme)) else f"{host}:{port}"
    normalised = f"{scheme}://{netloc}{parts.path or ''}"
    if parts.query:
        normalised += f"?{parts.query}"
    return normalised


def origin_of(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def origin_url(url: str) -> str:
    """``scheme://host[:port]`` of a URL, one spelling per server: lower case, no trailing dot
    on the host, no default port."""
    scheme, host, port = origin_of(url)
    host = host.rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(scheme)
    return same(f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}")


def url_path(url: str | None) -> str:
    """The URL without its query string or fragment: what log lines and messages show."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _configuration_error(message: str) -> ConfigurationError:
    # Imported here: errors imports oauthlib (~45 ms), which the CLI's fast path must not pay.
    from .errors import ConfigurationError

    return ConfigurationError(message)
