"""Settings: arguments with their environment-variable fallbacks, and the URL transport rule."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .cache.base import normalise_url

if TYPE_CHECKING:
    from .errors import ConfigurationError

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_URL",
    "ENVIRONMENT",
    "check_leeway",
    "check_url",
    "is_loopback",
    "mask_client_id",
    "normalise_url",
    "origin_of",
    "required_setting",
    "setting",
]

DEFAULT_TOKEN_URL = "https://identity.officernd.com/oauth/token"
DEFAULT_API_URL = "https://app.officernd.com"

#: Argument name -> environment variable that supplies it when the argument is omitted.
ENVIRONMENT: Mapping[str, str] = {
    "client_id": "OFFICERND_CLIENT_ID",
    "client_secret": "OFFICERND_CLIENT_SECRET",
    "scope": "OFFICERND_SCOPE",
    "org": "OFFICERND_ORG",
    "token_url": "OFFICERND_TOKEN_URL",
    "api_url": "OFFICERND_API_URL",
}


def setting(name: str, value: str | None, *, required: bool = True) -> str | None:
    """Return ``value``, or the environment variable for ``name`` when ``value`` is ``None``.

    Raises:
        ConfigurationError: required and neither given nor set, or given but not text.
    """
    env_var = ENVIRONMENT[name]
    if value is None:
        value = os.environ.get(env_var) or None
    elif not isinstance(value, str):
        raise _configuration_error(f"{name} must be a string, got {type(value).__name__}")
    if value is not None:
        value = value.strip()
    if required and not value:
        raise _configuration_error(f"{name} is missing: pass {name}=... or set {env_var}")
    return value or None


def required_setting(name: str, value: str | None) -> str:
    """Like :func:`setting`, for settings that must be there."""
    resolved = setting(name, value)
    assert resolved is not None  # setting() raised otherwise
    return resolved


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1``."""
    if not host:
        return False
    host = host.strip("[]").lower()
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
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise _configuration_error(
            f"{name} {url!r} is not an absolute URL: give it as https://host/..."
        )
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(parts.hostname)):
        if parts.username or parts.password:
            raise _configuration_error(f"{name} must not carry credentials in the URL")
        return url.rstrip("/")
    raise _configuration_error(
        f"{name} {parts.scheme}://{parts.hostname}... must use https (plain http is allowed only "
        "for localhost/127.0.0.1/::1, e.g. the FakeOfficeRND emulator)"
    )


def origin_of(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def mask_client_id(client_id: str) -> str:
    """A client id shortened for display: enough to tell apps apart, not to copy one."""
    return client_id[:4] + "…" + client_id[-2:] if len(client_id) > 8 else "…"


def check_leeway(leeway: float) -> float:
    """Check the leeway is a finite number of seconds, zero or more."""
    if isinstance(leeway, bool) or not isinstance(leeway, (int, float)):
        raise _configuration_error(f"leeway must be a number of seconds, got {leeway!r}")
    if not math.isfinite(leeway) or leeway < 0:
        raise _configuration_error(f"leeway must be zero or more seconds, got {leeway!r}")
    return float(leeway)


def _configuration_error(message: str) -> ConfigurationError:
    # Imported here: errors imports oauthlib (~45 ms), and this module must stay light for the
    # CLI's cached-token path.
    from .errors import ConfigurationError

    return ConfigurationError(message)
