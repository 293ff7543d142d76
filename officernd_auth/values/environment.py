"""The ``OFFICERND_*`` environment variables and the defaults the CLI's cached-token path needs,
importing only ``os`` (see :mod:`officernd_auth.cli.quick`); :mod:`officernd_auth.core.settings`
re-exports them."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself is not imported: see the module's docstring
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_LEEWAY",
    "DEFAULT_TOKEN_URL",
    "ENVIRONMENT",
    "environment_value",
    "xdg_cache_home",
]

DEFAULT_TOKEN_URL = "https://identity.officernd.com/oauth/token"
#: Renew a token this many seconds before it expires.
DEFAULT_LEEWAY = 60.0

#: Setting -> the environment variable that supplies it when the argument is omitted.
ENVIRONMENT: Mapping[str, str] = {
    "client_id": "OFFICERND_CLIENT_ID",
    "client_secret": "OFFICERND_CLIENT_SECRET",
    "scope": "OFFICERND_SCOPE",
    "org": "OFFICERND_ORG",
    "token_url": "OFFICERND_TOKEN_URL",
    "api_url": "OFFICERND_API_URL",
    "token_cache": "OFFICERND_TOKEN_CACHE",
    "webhook_secret": "OFFICERND_WEBHOOK_SECRET",
}


def environment_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The environment variable for setting ``name``, stripped; ``None`` when unset or blank.

    The one place the package reads ``OFFICERND_*`` variables (``environ`` defaults to
    ``os.environ``).
    """
    value = (os.environ if environ is None else environ).get(ENVIRONMENT[name])
    value = value.strip() if value else None
    return value or None


def xdg_cache_home() -> str:
    """The user's cache directory by the XDG rule platformdirs applies on Linux:
    ``$XDG_CACHE_HOME`` unless blank, else ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return base if base.strip() else os.path.expanduser("~/.cache")
