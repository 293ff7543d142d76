"""One object for equal immutable values that many tenants hold: scope sets, host sets, URLs.

A process serving a thousand credentials would otherwise keep a thousand equal frozensets of
the same scopes, a thousand copies of the token endpoint's URL, and so on (benchmarks, table
5c: what a live tenant retains). Each table is owned by this module, bounded, and starts over
when full; what it handed out stays with whoever holds it (docs/lifetimes.rst).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from operator import attrgetter
from typing import Any, TypeVar

__all__ = ["FromSettings", "one_for", "same", "setting", "shared_table"]

_H = TypeVar("_H", bound=Hashable)
_V = TypeVar("_V")

#: How many distinct values a table remembers; when it is full it starts over (see
#: :func:`one_for`), so it stays bounded whatever the process sees.
LIMIT = 512

_SEEN: dict[object, object] = {}


def same(value: _H) -> _H:
    """``value``, or an equal value of the same type given recently (see :func:`one_for`).
    Only for immutable values."""
    # A race keeps one of two equal values: either is fine.
    return one_for(_SEEN, (type(value), value), lambda: value)


def one_for(table: dict[Any, Any], key: object, make: Callable[[], _V], limit: int = LIMIT) -> _V:
    """What ``table`` holds for ``key``, else ``make()``, stored there. A full table is
    emptied first: what it gave out stays shared by whoever holds it, only later lookups start
    over (a process that sees more kinds than ``limit`` shares less, never grows). A key that
    cannot be hashed (a list where a tuple would do) gets ``make()``, not stored."""
    try:
        found = table.get(key)
    except TypeError:
        return make()
    if found is None:
        if len(table) >= limit:
            table.clear()
        found = table[key] = make()
    return found


_TABLES: dict[Hashable, dict[Any, Any]] = {}


def shared_table(key: Hashable) -> dict[Any, Any]:
    """One dict for every object that passes an equal ``key``: a memo of answers that depend
    on the key alone (see :func:`one_for`)."""
    return one_for(_TABLES, key, dict, 64)


class FromSettings:
    """Declares a read-only attribute that is the same attribute of the object's ``settings``
    (or of the object named by ``via``): a provider keeps its settings once instead of copying
    each (memory per tenant: benchmarks, table 5c). Declared with :func:`setting`; when the
    class is made it puts a property in its own place."""

    __slots__ = ("via",)

    def __init__(self, via: str = "settings") -> None:
        self.via = via

    def __set_name__(self, owner: type, name: str) -> None:
        # Replaced on the class by a property over an attrgetter, which reads through the
        # settings in C without a Python frame (the httpx adapter reads the leeway on every
        # request: two frames per read cost it 0.3 %, benchmarks table 1d). Read-only as before.
        read = attrgetter(f"{self.via}.{name}")
        doc = f"The ``{name}`` setting (read-only)."
        setattr(owner, name, property(read, _refuse(owner.__name__, name), doc=doc))


def _refuse(owner: str, name: str) -> Callable[[object, object], None]:
    def refuse(instance: object, value: object) -> None:
        raise AttributeError(
            f"{owner}.{name} is read-only: it is one of the settings the object was made with "
            "(make another with the option you want)"
        )

    return refuse


def setting(via: str = "settings") -> Any:
    """A :class:`FromSettings`, typed as the value it reads: ``token_url: str =
    setting()`` declares a ``str`` attribute to type checkers and the documentation."""
    return FromSettings(via)
