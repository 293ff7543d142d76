"""Scopes: parse, normalise, validate and compare them, and the catalogue of known ones. Pure.

OfficeRND has two families of scopes:

* API v1 ("Hybrid"): ``officernd.api.read`` and ``officernd.api.write``.
* API v2 ("Flex"): ``flex.<module>.<resource>[.<sub>].<action>``, 4 or 5 dot-separated parts.

The catalogue below is the one place to extend when OfficeRND adds scopes. A well-formed scope
that is not in it is still sent (with :class:`~officernd_auth.errors.UnknownScopeWarning`), because
OfficeRND adds scopes faster than any client library ships.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from typing import cast

from ..values.errors import ScopeError, ScopeMismatchWarning, UnknownScopeWarning
from ..values.interning import same

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

V1_SCOPES = frozenset({"officernd.api.read", "officernd.api.write"})

# module -> space-separated "resource[.sub].{action,...}" entries; braces expand to one scope each.
_V2_CATALOGUE: Mapping[str, str] = {
    "community": """
        members.{read,create,update,delete} members.portalAccess.update
        companies.{read,create,update,delete} visits.{read,create,delete}
        visitors.{read,create,delete} opportunities.{read,create,update,delete}
        opportunityStatuses.read contracts.{read,create,update,delete,sign,terminate}
        checkins.{read,create,update} fees.{read,create,update,delete}
        memberships.{read,create,update,delete} receptionFlows.read
    """,
    "billing": """
        payments.{read,create,update} payments.methods.read payments.documents.read
        payments.allocations.{create,update} charges.{read,create,update,delete} checkout.create
        taxRates.read revenueAccounts.read plans.read resourceRates.read cancellationPolicies.read
        paymentDetails.{read,create,delete} paymentGateways.authorize
    """,
    "space": """
        bookings.{read,create,update,delete,cancel,validate} locations.read floors.read
        resources.read resourceTypes.read amenities.read assignments.{read,create,delete}
        passes.{read,create,update,delete} credits.{read,create,update,delete} coins.read
    """,
    "collaboration": """
        tickets.{read,create,update} ticketOptions.read ticketComments.{read,create}
        posts.{read,create,delete} events.{read,create,update,delete} benefits.read
    """,
    "settings": """
        webhooks.{read,create,update,delete} customProperties.read
        secondaryCurrencies.{read,update} billing.read integrations.read businessHours.read
        organization.read
    """,
    "user": "auth.signup auth.signin auth.impersonate auth.verify password.update",
}


def _expand(module: str, entries: str) -> Iterable[str]:
    for entry in entries.split():
        head, brace, alternatives = entry.partition("{")  # "members.{read,create}"
        if not brace:
            yield f"flex.{module}.{entry}"
        else:
            for action in alternatives.removesuffix("}").split(","):
                yield f"flex.{module}.{head}{action}"


V2_SCOPES = frozenset(
    scope for module, entries in _V2_CATALOGUE.items() for scope in _expand(module, entries)
)
KNOWN_SCOPES = V1_SCOPES | V2_SCOPES

# One scope token: dot-separated identifiers. Stricter than RFC 6749's "any visible ASCII",
# because every OfficeRND scope has this shape and the stricter rule catches typos early.
# (A pattern, compiled by re on first use, not at import.)
_SCOPE_RE = r"^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)+$"
_HTTP_ACTIONS: Mapping[str, str] = {
    "GET": "read",
    "HEAD": "read",
    "OPTIONS": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}


def parse_scopes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Parse scopes given as a whitespace-separated string or an iterable of strings.

    Duplicates are dropped, first-seen order is kept (so the request body is stable).

    Args:
        value: ``"flex.community.members.read  flex.space.bookings.read"`` or a list of scopes.

    Returns:
        The scopes, deduplicated, as a tuple.

    Raises:
        ScopeError: empty input, commas, or characters outside the scope grammar.

    Example:
        >>> parse_scopes(" officernd.api.read\\tofficernd.api.read")
        ('officernd.api.read',)
    """
    if value is None:
        raise ScopeError("no scope given: pass scope='flex.community.members.read ...'")
    if isinstance(cast(object, value), (bytes, bytearray)):
        raise ScopeError("scope must be text, not bytes: decode it first")
    raw: list[str] = []
    if isinstance(value, str):
        raw = value.split()
    else:
        for item in value:
            if not isinstance(item, str):
                raise ScopeError(
                    f"every scope must be a string, got {type(item).__name__}: "
                    "pass a list of strings or one space-separated string"
                )
            raw.extend(item.split())
    if not raw:
        raise ScopeError(
            "the scope is empty: name at least one scope, for example 'flex.community.members.read'"
        )
    seen: dict[str, None] = {}
    for scope in raw:
        if "," in scope or ";" in scope:
            fixed = " ".join(part for part in re.split(r"[,;\s]+", " ".join(raw)) if part)
            raise ScopeError(
                f"scopes are separated by spaces, not commas or semicolons: use {fixed!r}"
            )
        if not re.match(_SCOPE_RE, scope):
            raise ScopeError(
                f"{_shorten(scope)!r} is not a valid scope: a scope is dot-separated words of "
                "letters, digits, '_' or '-', like 'flex.community.members.read'"
            )
        seen.setdefault(scope, None)
    return same(tuple(seen))


def format_scopes(scopes: Iterable[str]) -> str:
    """Join scopes with single spaces, as the token request body wants them."""
    return " ".join(scopes)


def missing_scopes(requested: Iterable[str], granted: Iterable[str]) -> frozenset[str]:
    """Return the requested scopes that the grant does not carry (compared as sets)."""
    return frozenset(requested) - frozenset(granted)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance between a and b, stopping early once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def suggest_scope(scope: str) -> str | None:
    """Return the known scope that ``scope`` is a near miss of, or ``None``.

    A near miss is a different letter case, at most two edits away (``member`` for ``members``),
    or the right resource and action under the wrong module.

    Example:
        >>> suggest_scope("flex.community.member.read")
        'flex.community.members.read'
    """
    if scope in KNOWN_SCOPES:
        return None
    lowered = scope.lower()
    for known in sorted(KNOWN_SCOPES):
        if known.lower() == lowered:
            return known
    best: tuple[int, str] | None = None
    for known in sorted(KNOWN_SCOPES):
        distance = _distance(scope, known, 2)
        if distance <= 2 and (best is None or distance < best[0]):
            best = (distance, known)
    if best is not None:
        return best[1]
    parts = scope.split(".")
    if parts[0] == "flex" and len(parts) >= 4:
        tail = ".".join(parts[2:])
        moved = sorted(k for k in V2_SCOPES if k.split(".", 2)[2] == tail)
        if len(moved) == 1:
            return moved[0]
    return None


def check_scopes(scopes: Iterable[str], api_version: str | None = None) -> None:
    """Validate parsed scopes against the catalogue; raise on near misses, warn on the unknown.

    Args:
        scopes: scopes as returned by :func:`parse_scopes`.
        api_version: ``"v1"`` or ``"v2"``; when given, scopes of the other family warn.

    Raises:
        ScopeError: a scope is a near miss of a known one (the message names the right one).

    Warns:
        UnknownScopeWarning: a well-formed scope that is not in the catalogue.
        ScopeMismatchWarning: v1 scopes on a v2 session, or the reverse.
    """
    scopes = tuple(scopes)
    for scope in scopes:
        if scope in KNOWN_SCOPES:
            continue
        suggestion = suggest_scope(scope)
        if suggestion is not None:
            raise ScopeError(
                f"unknown scope {scope!r}: did you mean {suggestion!r}? "
                "Scope names are case-sensitive and resource names are plural camelCase."
            )
        warnings.warn(
            f"scope {scope!r} is not in officernd-auth's catalogue; it is sent anyway. "
            "If the token request then fails with invalid_scope, check its spelling.",
            UnknownScopeWarning,
            stacklevel=3,
        )
    if api_version is None:
        return
    v1 = [s for s in scopes if s.startswith("officernd.")]
    v2 = [s for s in scopes if s.startswith("flex.")]
    if api_version == "v2" and v1 and not v2:
        warnings.warn(
            f"{', '.join(v1)} are API v1 scopes but the session talks to API v2, which needs "
            "flex.* scopes: pass api_version='v1' or request flex.<module>.<resource>.<action>",
            ScopeMismatchWarning,
            stacklevel=3,
        )
    elif api_version == "v1" and v2 and not v1:
        warnings.warn(
            f"{', '.join(v2)} are API v2 scopes but the session talks to API v1, which needs "
            "officernd.api.read / officernd.api.write: pass api_version='v2' or request those",
            ScopeMismatchWarning,
            stacklevel=3,
        )


def scope_resource(segment: str) -> str:
    """A v2 path segment as its scope names it: ``ticket-options`` -> ``ticketOptions``.

    Example:
        >>> scope_resource("ticket-options")
        'ticketOptions'
    """
    head, *rest = segment.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def path_segment(resource: str) -> str:
    """A v2 scope resource as its path names it: ``ticketOptions`` -> ``ticket-options``.

    Example:
        >>> path_segment("ticketOptions")
        'ticket-options'
    """
    return re.sub(r"(?<!^)([A-Z])", lambda m: "-" + m.group(1).lower(), resource)


def required_scope(method: str, api_version: str, resource: str) -> str | None:
    """The scope an API call needs, when it can be told from the method and resource.

    Args:
        method: the HTTP method.
        api_version: ``"v1"`` or ``"v2"``.
        resource: the first path segment after the organisation, e.g. ``"members"``; v2's
            kebab-case segments (``"ticket-options"``) name camelCase scope resources
            (``ticketOptions``).

    Returns:
        ``officernd.api.read``/``.write`` on v1; on v2 the catalogue scope for that resource and
        action, or ``None`` when the resource is not in the catalogue.

    Example:
        >>> required_scope("GET", "v2", "members")
        'flex.community.members.read'
        >>> required_scope("GET", "v2", "ticket-options")
        'flex.collaboration.ticketOptions.read'
    """
    action = _HTTP_ACTIONS.get(method.upper(), "update")
    if api_version == "v1":
        return "officernd.api.read" if action == "read" else "officernd.api.write"
    name = scope_resource(resource)
    for scope in sorted(V2_SCOPES):
        parts = scope.split(".")
        if len(parts) == 4 and parts[2] == name and parts[3] == action:
            return scope
    return None
