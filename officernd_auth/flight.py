"""Single flight: per credential, one lock around fetching, the outcome of the last attempt and
the token the process holds.

One :class:`Flight` per cache key (token URL, client id, secret hash, scope set), shared by every
provider of the process with that key, so N threads that need a token make one token request,
threads that waited on a failing request get its error instead of sending N failing requests,
and a token one provider fetched or forgot is seen by the others at once.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from .errors import OfficeRNDAuthError
from .token import Token

__all__ = ["Flight", "flight_count", "flight_for", "forget_flights"]


class Flight:
    """Per credential: the lock around fetching, how the last attempt ended, the held token.

    Attributes:
        lock: held around check-fetch-store.
        completed: token requests finished, successful or not.
        last_error: the failure of the last attempt, ``None`` after a success.
        held: ``(cache, token)``: the token last stored in or read from ``cache`` by a provider
            of this process, so the hot path need not ask the cache; ``None`` when forgotten.
    """

    __slots__ = ("__weakref__", "completed", "held", "last_error", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.completed = 0
        self.last_error: OfficeRNDAuthError | None = None
        self.held: tuple[Any, Token] | None = None

    def record(self, error: OfficeRNDAuthError) -> OfficeRNDAuthError:
        """Remember that an attempt ended in ``error``; return it (to raise)."""
        self.last_error = error
        self.completed += 1
        return error

    def succeeded(self, cache: object, token: Token) -> None:
        """Remember that an attempt got ``token``, now stored in ``cache``."""
        self.last_error = None
        self.completed += 1
        self.held = (cache, token)


# Flights live as long as a provider refers to them (weak values): a service that serves many
# credentials does not grow with every one it ever saw.
_registry_lock = threading.Lock()
_flights: weakref.WeakValueDictionary[str, Flight] = weakref.WeakValueDictionary()


def flight_for(key: str) -> Flight:
    """The process's flight for one cache key."""
    with _registry_lock:
        flight = _flights.get(key)
        if flight is None:
            flight = _flights[key] = Flight()
        return flight


def flight_count() -> int:
    """How many flights the process holds (for memory measurements)."""
    with _registry_lock:
        return len(_flights)


def forget_flights() -> int:
    """Forget every flight's failures and held token; return how many flights exist."""
    with _registry_lock:
        flights = list(_flights.values())
    for flight in flights:
        flight.last_error = None
        flight.held = None
    return len(flights)
