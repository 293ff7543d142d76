"""officernd_auth.values.interning: one object for equal values that many tenants hold."""

from __future__ import annotations

from officernd_auth.values import interning


def test_shared_values_stay_bounded_and_keep_being_shared() -> None:
    for index in range(interning.LIMIT + 10):  # a process that sees many kinds of value
        interning.same(f"https://host-{index}.example")
    made = "".join(["https://", "late.example"])  # built at run time: not an interned literal
    first = interning.same(made)
    assert interning.same("".join(["https://", "late.example"])) is first  # still shared


def test_equal_values_of_another_type_or_that_cannot_be_hashed_are_not_shared() -> None:
    assert interning.same(1.0) is not interning.same(1)  # equal, but another type
    listed = ["flex.community.members.read"]
    assert interning.same(listed) is listed  # a list cannot be a key: returned as it is
    scopes = frozenset(["".join(["flex.", "space.bookings.read"])])
    assert interning.same(frozenset(list(scopes))) is interning.same(scopes)  # an equal set
