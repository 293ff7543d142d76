"""One object for equal immutable values that many tenants hold: scope sets, host sets, URLs.

A process serving a thousand credentials would otherwise keep a thousand equal frozensets of
the same scopes, a thousand copies of the token endpoint's URL, and so on: sharing them halves
what a live tenant keeps (benchmarks, table 5c: 1.1 KiB with, 2.3 KiB without). The memo is
``functools.lru_cache``: bounded, thread-safe, least recently used out first; what it handed
out stays with whoever holds it (docs/lifetimes.rst).
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from typing import TypeVar

__all__ = ["LIMIT", "same"]

_H = TypeVar("_H", bound=Hashable)

#: How many distinct values :func:`same` remembers (the least recently used goes first).
LIMIT = 512


@lru_cache(maxsize=LIMIT, typed=True)
def _first_seen(value: Hashable) -> Hashable:
    return value


def same(value: _H) -> _H:
    """``value``, or an equal value of the same type given recently. Only for immutable
    values; one that cannot be hashed (a list where a tuple would do) is returned as it is."""
    try:
        return _first_seen(value)  # type: ignore[return-value]
    except TypeError:
        return value
