"""Scope parsing and validation (pure: no server)."""

from __future__ import annotations

import warnings

import pytest

from officernd_auth import ScopeError, ScopeMismatchWarning, UnknownScopeWarning
from officernd_auth.core.scopes import (
    KNOWN_SCOPES,
    check_scopes,
    format_scopes,
    missing_scopes,
    parse_scopes,
    required_scope,
    suggest_scope,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("officernd.api.read", ("officernd.api.read",)),
        (" officernd.api.write", ("officernd.api.write",)),  # the old docs' leading space
        ("a.b\tc.d\n  a.b", ("a.b", "c.d")),
        (["x.y", "x.y", "z.w"], ("x.y", "z.w")),
        (("p.q r.s",), ("p.q", "r.s")),
        ({"flex.space.locations.read"}, ("flex.space.locations.read",)),
    ],
)
def test_parse_accepts_any_whitespace_and_iterables(
    value: object, expected: tuple[str, ...]
) -> None:
    assert parse_scopes(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "empty"),
        (None, "no scope"),
        ("officernd.api.read,officernd.api.write", "'officernd.api.read officernd.api.write'"),
        ("flex.community.members.read;x.y", "not commas"),
        ("officernd.api.read!", "not a valid scope"),
        ("members", "not a valid scope"),
        ("flex..members.read", "not a valid scope"),
        ([1], "must be a string"),
        (b"officernd.api.read", "bytes"),
    ],
)
def test_parse_rejects_malformed(value: object, needle: str) -> None:
    with pytest.raises(ScopeError) as info:
        parse_scopes(value)  # type: ignore[arg-type]
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_format_joins_with_single_spaces() -> None:
    assert format_scopes(("a.b", "c.d")) == "a.b c.d"


def test_missing_compares_as_sets() -> None:
    assert missing_scopes(["a.b", "c.d"], ["c.d", "e.f"]) == frozenset({"a.b"})
    assert missing_scopes(["a.b"], ["a.b", "wider.scope"]) == frozenset()


def test_catalogue_holds_the_documented_scopes() -> None:
    for scope in (
        "officernd.api.read",
        "flex.community.members.portalAccess.update",
        "flex.billing.payments.allocations.update",
        "flex.space.bookings.validate",
        "flex.collaboration.ticketComments.create",
        "flex.settings.secondaryCurrencies.update",
        "flex.user.auth.impersonate",
    ):
        assert scope in KNOWN_SCOPES
    assert all(4 <= len(s.split(".")) <= 5 for s in KNOWN_SCOPES if s.startswith("flex."))


@pytest.mark.parametrize(
    ("typo", "right"),
    [
        ("flex.community.member.read", "flex.community.members.read"),
        ("flex.community.Members.read", "flex.community.members.read"),
        ("officernd.api.reed", "officernd.api.read"),
        ("flex.billing.members.read", "flex.community.members.read"),
        ("flex.space.booking.create", "flex.space.bookings.create"),
    ],
)
def test_near_miss_raises_with_suggestion(typo: str, right: str) -> None:
    assert suggest_scope(typo) == right
    with pytest.raises(ScopeError, match=f"did you mean '{right}'"):
        check_scopes([typo])


def test_unknown_well_formed_scope_warns_and_passes() -> None:
    with pytest.warns(UnknownScopeWarning, match="flex.community.widgets.read"):
        check_scopes(["flex.community.widgets.read"])
    assert suggest_scope("flex.community.widgets.read") is None


def test_known_scopes_are_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_scopes(["flex.community.members.read", "flex.space.bookings.read"], "v2")
        check_scopes(["officernd.api.read"], "v1")


def test_version_mismatch_warns_both_ways() -> None:
    with pytest.warns(ScopeMismatchWarning, match="api_version='v1'"):
        check_scopes(["officernd.api.read"], "v2")
    with pytest.warns(ScopeMismatchWarning, match="api_version='v2'"):
        check_scopes(["flex.community.members.read"], "v1")


def test_required_scope() -> None:
    assert required_scope("GET", "v2", "members") == "flex.community.members.read"
    assert required_scope("PATCH", "v2", "bookings") == "flex.space.bookings.update"
    assert required_scope("DELETE", "v1", "members") == "officernd.api.write"
    assert required_scope("GET", "v2", "nothing") is None
