"""One object for equal immutable values that many tenants hold: scope sets, host sets, URLs.

A process serving a thousand credentials would otherwise keep a thousand equal frozensets of
the same scopes, a thousand copies of the token endpoint's URL, and so on (benchmarks, table
5c: what a live tenant retains).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

__all__ = ["FromSettings", "remember", "same", "setting", "shared_table"]

_H = TypeVar("_H", bound=Hashable)
_V = TypeVar("_V")

#: How many distinct values a table remembers; when it is full it starts over (see
#: :func:`remember`), so it stays bounded whatever the process sees.
LIMIT = 512

_SEEN: dict[object, object] = {}


def same(value: _H) -> _H:
    """``value``, or an equal value of the same type given recently (see :func:`remember`).
    Only for immutable values."""
    key = (type(value), value)
    try:
        found = _SEEN.get(key)
    except TypeError:  # not hashable after all (a set given where a frozenset belongs)
        return value
    if found is not None:
        return found  # type: ignore[return-value]
    return remember(_SEEN, key, value)  # a race keeps one of two equal values: either is fine


def remember(table: dict[Any, Any], key: Hashable, value: _V, limit: int = LIMIT) -> _V:
    """Store ``value`` under ``key`` and return it; a full ``table`` is emptied first. What it
    gave out stays shared by whoever holds it: only later lookups start over (a process that
    sees more kinds than ``limit`` shares less, never grows)."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value


_TABLES: dict[Hashable, dict[Any, Any]] = {}


def shared_table(key: Hashable) -> dict[Any, Any]:
    """One dict for every object that passes an equal ``key``: a memo of answers that depend
    on the key alone (see :func:`remember`)."""
    table = _TABLES.get(key)
    if table is None:
        table = remember(_TABLES, key, {}, 64)
    return table


class FromSettings:
    """A read-only attribute that is the same attribute of the object's ``settings`` (or of
    the object named by ``via``): a provider keeps its settings once instead of copying each
    (memory per tenant: benchmarks, table 5c). Declared with :func:`setting`."""

    __slots__ = ("name", "via")

    def __init__(self, via: str = "settings") -> None:
        self.via = via

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type) -> Any:
        if instance is None:
            return self
        return getattr(getattr(instance, self.via), self.name)


def setting(via: str = "settings") -> Any:
    """A :class:`FromSettings`, typed as the value it reads: ``token_url: str =
    setting()`` declares a ``str`` attribute to type checkers and the documentation."""
    return FromSettings(via)
