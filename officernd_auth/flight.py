"""Single flight: per credential, one lock around fetching, the outcome of the last attempt and
the token the process holds; and :func:`reset`, which forgets the process-wide state.

One :class:`Flight` per cache key (token URL, client id, secret hash, scope set), shared by every
provider of the process with that key, so N threads that need a token make one token request,
threads that waited on a failing request get its error instead of sending N failing requests,
and a token one provider fetched or forgot is seen by the others at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
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
    """Per credential: the lock around fetching, how the last attempt ended, the held token.

    Attributes:
        lock: held around check-fetch-store.
        completed: token requests finished, successful or not.
        last_error: the failure of the last attempt, ``None`` after a success.
        held: ``(cache, token)``: the token last stored in or read from ``cache`` by a provider
            of this process, so the hot path need not ask the cache; ``None`` when forgotten.
            Set through :meth:`hold`, :meth:`adopt` and :meth:`forget`.
        changes: how many times ``held`` was set or forgotten (see :meth:`adopt`).
        failed_at: ``time.monotonic()`` when the last attempt failed.
    """

    __slots__ = (
        "__weakref__", "changes", "completed", "failed_at", "held", "last_error", "lock",
    )  # fmt: skip

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.completed = 0
        self.changes = 0
        self.failed_at = 0.0  # time.monotonic() of the last failed attempt
        self.last_error: OfficeRNDAuthError | None = None
        self.held: tuple[Any, Token] | None = None

    def hold(self, cache: object, token: Token) -> None:
        """Hold ``token``, just stored in or read from ``cache`` under the lock (or seeded)."""
        self.held = (cache, token)
        self.changes += 1

    def forget(self) -> None:
        """Hold nothing: the next call asks the cache."""
        self.held = None
        self.changes += 1

    def adopt(self, cache: object, token: Token, seen: int) -> None:
        """Hold ``token``, read from ``cache`` without the lock, unless the held token changed
        since ``seen`` (``changes`` before the read) or a thread holds the lock: a token read
        just before another thread forgot it (a 401) must not replace the one fetched since."""
        if self.lock.acquire(blocking=False):
            try:
                if self.changes == seen:
                    self.hold(cache, token)
            finally:
                self.lock.release()

    @contextlib.contextmanager
    def locked(self, deadline: Deadline, whose: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the lock, waiting for it no later than ``deadline``, and yield ``True``; with
        ``wait=False``, yield ``False`` at once when another thread holds it.

        Raises:
            TokenEndpointError: another thread's token request (for ``whose``) outlasted the
                wait (retryable).
        """
        if not wait:
            if not self.lock.acquire(blocking=False):
                yield False
                return
        elif not self.lock.acquire(timeout=deadline.lock_timeout()):
            raise waited_out(deadline, f"another thread's token request for {whose}")
        try:
            yield True
        finally:
            self.lock.release()

    def record(self, error: OfficeRNDAuthError) -> OfficeRNDAuthError:
        """Remember that an attempt ended in ``error``; return it (to raise)."""
        self.last_error = error
        self.completed += 1
        self.failed_at = time.monotonic()
        return error

    def succeeded(self, cache: object, token: Token) -> None:
        """Remember that an attempt got ``token``, now stored in ``cache``."""
        self.last_error = None
        self.completed += 1
        self.hold(cache, token)


def waited_out(deadline: Deadline, what: str) -> TokenEndpointError:
    """The error of a call whose deadline passed while ``what`` was still running (retryable:
    the next call may find the token)."""
    from .token_errors import TokenEndpointError  # oauthlib's subclass: loaded when needed

    return TokenEndpointError(
        f"no token within {deadline.seconds:g} s: {what} is still running (raise the call's "
        "timeout or token_deadline)",
        retryable=True,
    )


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
        flights = list(_flights.values())
    for flight in flights:
        flight.last_error = None
        flight.forget()
    forget_budgets()


def registry_sizes() -> dict[str, int]:
    """How many per-credential records the process holds (for memory measurements)."""
    with _registry_lock:
        flights = len(_flights)
    return {"flights": flights, "budgets": budget_count()}
