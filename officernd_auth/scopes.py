"""Scopes: parse, normalise, validate and compare them, and the catalogue of known ones. Pure.

OfficeRND has two families of scopes:

* API v1 ("Hybrid"): ``officernd.api.read`` and ``officernd.api.write``.
* API v2 ("Flex"): ``flex.<module>.<resource>[.<sub>].<action>``, 4 or 5 dot-separated parts.

The catalogue below is the one place to extend when OfficeRND adds scopes. A well-formed scope
that is not in it is still sent (with :class:`~officernd_auth.errors.UnknownScopeWarning`), because
OfficeRND adds scopes faster than any client library ships.

A public path to ``officernd_auth.core.scopes``, where the code is.
"""

from __future__ import annotations

from .core.scopes import (
    KNOWN_SCOPES,
    V1_SCOPES,
    check_scopes,
    format_scopes,
    missing_scopes,
    parse_scopes,
    path_segment,
    required_scope,
    scope_resource,
    suggest_scope,
)

__all__ = [
    "KNOWN_SCOPES",
    "V1_SCOPES",
    "check_scopes",
    "format_scopes",
    "missing_scopes",
    "parse_scopes",
    "path_segment",
    "required_scope",
    "scope_resource",
    "suggest_scope",
]
