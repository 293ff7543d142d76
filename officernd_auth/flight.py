"""Single flight: per credential and cache, one lock around fetching, the outcome of the last
attempt and the token the process holds; and :func:`reset`, which forgets the process-wide state.

One :class:`Flight` per token cache and cache key (token URL, client id, secret hash, scope set),
shared by every provider of the process with that cache and key, so N threads that need a token
make one token request,
threads that waited on a failing request get its error instead of sending N failing requests,
and a token one provider fetched or forgot is seen by the others at once.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .cache.memory import DEFAULT_MEMORY_CACHE
from .deadline import Deadline
from .errors import OfficeRNDAuthError
from .policy import budget_count, forget_budgets
from .token import Token

if TYPE_CHECKING:
    from .token_errors import TokenEndpointError

__all__ = ["Flight", "flight_for", "registry_sizes", "reset", "waited_out"]


class Flight:
    """Per credential and cache: the lock around fetching, how the last attempt ended, the held
    token.

    Attributes:
        cache: the token cache the held token was stored in or read from.
        lock: held around check-fetch-store; made when a thread first needs it and dropped
            when no thread holds or waits for it (a lock per idle credential is 88 bytes of
            a tenant's memory, benchmarks table 5c). ``None`` while no thread needs it.
        users: the threads holding or waiting for ``lock``.
        completed: token requests finished, successful or not.
        last_error: the failure of the last attempt, ``None`` after a success.
        held: the token last stored in or read from ``cache`` by a provider of this process, so
            the hot path need not ask the cache (an adapter that remembers it checks that it is
            still this same object); ``None`` when forgotten. Set through :meth:`hold`,
            :meth:`adopt` and :meth:`forget`.
        changes: how many times ``held`` was set or forgotten (see :meth:`adopt`).
        failed_at: ``time.monotonic()`` when the last attempt failed.
    """

    __slots__ = (
        "cache", "changes", "completed", "failed_at", "held", "last_error", "lock", "users",
    )  # fmt: skip

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.lock: threading.Lock | None = None
        self.users = 0
        self.completed = 0
        self.changes = 0
        self.failed_at = 0.0  # time.monotonic() of the last failed attempt
        self.last_error: OfficeRNDAuthError | None = None
        self.held: Token | None = None

    def hold(self, token: Token) -> None:
        """Hold ``token``, just stored in or read from the cache under the lock (or seeded)."""
        self.held = token
        self.changes += 1

    def forget(self) -> None:
        """Hold nothing: the next call asks the cache."""
        self.held = None
        self.changes += 1

    def adopt(self, token: Token, seen: int) -> None:
        """Hold ``token``, read from the cache without the lock, unless the held token changed
        since ``seen`` (``changes`` before the read) or a thread holds or waits for the lock: a
        token read just before another thread forgot it (a 401) must not replace the one
        fetched since."""
        with _registry_lock:
            if not self.users and self.changes == seen:
                self.hold(token)

    @contextlib.contextmanager
    def locked(self, deadline: Deadline, whose: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the lock, waiting for it no later than ``deadline``, and yield ``True``; with
        ``wait=False``, yield ``False`` at once when another thread holds it.

        Raises:
            TokenEndpointError: another thread's token request (for ``whose``) outlasted the
                wait (retryable).
        """
        with _registry_lock:
            lock = self.lock
            if lock is None:
                lock = self.lock = threading.Lock()
            self.users += 1
        try:
            if not wait:
                if not lock.acquire(blocking=False):
                    yield False
                    return
            elif not lock.acquire(timeout=deadline.lock_timeout()):
                raise waited_out(deadline, f"another thread's token request for {whose}")
            try:
                yield True
            finally:
                lock.release()
        finally:
            with _registry_lock:
                self.users -= 1
                if not self.users:
                    self.lock = None

    def record(self, error: OfficeRNDAuthError) -> OfficeRNDAuthError:
        """Remember that an attempt ended in ``error``; return it (to raise)."""
        self.last_error = error
        self.completed += 1
        self.failed_at = time.monotonic()
        return error

    def succeeded(self, token: Token) -> None:
        """Remember that an attempt got ``token``, now stored in the cache."""
        self.last_error = None
        self.completed += 1
        self.hold(token)


def waited_out(deadline: Deadline, what: str) -> TokenEndpointError:
    """The error of a call whose deadline passed while ``what`` was still running (retryable:
    the next call may find the token)."""
    from .token_errors import TokenEndpointError  # oauthlib's subclass: loaded when needed

    return TokenEndpointError(
        f"no token within {deadline.seconds:g} s: {what} is still running (raise the call's "
        "timeout or token_deadline)",
        retryable=True,
    )


# Flights live as long as a provider refers to them: a service that serves many credentials
# does not grow with every one it ever saw. The registry holds them in a plain dict, by cache
# key (a tuple of them where one key is used with several caches), and lets go of those nothing
# else refers to any more (their reference count says so) when a flight is made a minute or
# more after the last sweep or the registry has doubled, at :func:`reset` and before
# :func:`registry_sizes` counts, rather than through a weak reference per flight (88 bytes of
# every live tenant's memory, benchmarks table 5c). So a dropped provider's flight, and the
# cache object it keeps, stay until the next sweep. The same lock guards each flight's lock and
# users.
_registry_lock = threading.Lock()
_flights: dict[str, Flight | tuple[Flight, ...]] = {}


#: ``sys.getrefcount(d[k])`` of an object only the container ``d`` refers to (2 on CPython
#: 3.10-3.13: measured here rather than assumed). An interpreter without reference counts
#: keeps its flights (one per credential and cache it saw).
def _alone() -> int:
    if not hasattr(sys, "getrefcount"):  # pragma: no cover (PyPy)
        return 0
    probe = {"": object()}
    return sys.getrefcount(probe[""])


_ALONE = _alone()
#: Seconds between sweeps of the flights no provider refers to.
SWEEP_EVERY = 60.0
_sweep = {"at": time.monotonic() + SWEEP_EVERY, "size": 64}


def flight_for(cache: object, key: str) -> Flight:
    """The process's flight for one cache key in ``cache``."""
    with _registry_lock:
        found = next((f for f in _group(key) if f.cache is cache), None)
        if found is not None:
            return found
        if len(_flights) >= _sweep["size"] or time.monotonic() >= _sweep["at"]:
            _sweep_locked()
        group = _group(key)
        flight = Flight(cache)
        _flights[key] = (*group, flight) if group else flight
        return flight


def _group(key: str) -> tuple[Flight, ...]:
    """The flights of one cache key, one per cache (under ``_registry_lock``)."""
    found = _flights.get(key)
    if found is None:
        return ()
    return (found,) if isinstance(found, Flight) else found


def _all_flights() -> list[Flight]:
    """Every flight of the registry (under ``_registry_lock``)."""
    return [flight for key in _flights for flight in _group(key)]


def _sweep_locked() -> None:
    """Let go of the flights that only the registry refers to (under ``_registry_lock``: no
    provider can be handed one meanwhile). Their held token stays in its cache, as before."""
    flights = _flights
    alone, refcount = _ALONE, sys.getrefcount
    if alone:
        for key in list(flights):
            value = flights[key]
            if type(value) is Flight:
                del value
                if refcount(flights[key]) <= alone:
                    del flights[key]
                continue
            group: tuple[Flight, ...] = value  # type: ignore[assignment]
            kept = tuple(group[i] for i in range(len(group)) if refcount(group[i]) > alone)
            del value, group
            if not kept:
                del flights[key]
            else:
                flights[key] = kept[0] if len(kept) == 1 else kept
        if len(flights) * 4 < _sweep["size"]:  # a dict does not shrink by deleting from it
            kept_all = dict(flights)
            flights.clear()
            flights.update(kept_all)
    _sweep["size"] = max(64, 2 * len(flights))
    _sweep["at"] = time.monotonic() + SWEEP_EVERY


def reset() -> None:
    """Forget the process-wide state: the default memory cache's tokens, every credential's
    held token and record of failed attempts, every token budget and server-imposed wait.

    For test suites (the ``officernd_auth`` pytest plugin calls it around the tests that ask
    for isolation): tokens fetched, failures seen or budget spent in one test then never reach
    the next. Objects that
    already exist keep working; they start from a clean slate. File and Redis caches are left
    alone (they are shared on purpose).
    """
    DEFAULT_MEMORY_CACHE.clear()
    with _registry_lock:
        _sweep_locked()  # the flights of the providers earlier tests dropped, and their caches
        flights = _all_flights()
    for flight in flights:
        flight.last_error = None
        flight.forget()
    forget_budgets()


def registry_sizes() -> dict[str, int]:
    """How many per-credential records the process holds (for memory measurements): the
    flights some provider still refers to (the others are swept first)."""
    with _registry_lock:
        _sweep_locked()
        flights = len(_all_flights())
    return {"flights": flights, "budgets": budget_count()}
