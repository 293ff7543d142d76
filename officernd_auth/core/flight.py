"""Single flight: per credential and cache, one lock around fetching, the outcome of the last
attempt and the token the process holds; and :func:`~officernd_auth.reset`, which forgets the
process-wide state.

One :class:`Flight` per token cache and cache key (token URL, client id, secret hash, scope set),
shared by every provider of the process with that cache and key, so N threads that need a token
make one token request,
threads that waited on a failing request get its error instead of sending N failing requests,
and a token one provider fetched or forgot is seen by the others at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..cache.memory import DEFAULT_MEMORY_CACHE
from ..values.deadline import Deadline
from ..values.errors import OfficeRNDAuthError
from ..values.token import Token
from .policy import budget_count, forget_budgets

if TYPE_CHECKING:
    from ..values.token_errors import TokenEndpointError

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
        "__weakref__", "cache", "changes", "completed", "failed_at", "held", "last_error", "lock",
        "users",
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
        lock = self._join()
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
            self._leave()

    @contextlib.asynccontextmanager
    async def alocked(
        self,
        deadline: Deadline,
        whose: str,
        sleep: Callable[[float], Awaitable[None]],
        *,
        wait: bool = True,
    ) -> AsyncIterator[bool]:
        """:meth:`locked` for a task on an event loop: the loop goes on while another thread
        or loop holds the lock (tried again after ``sleep``, 1 ms doubling to 20 ms)."""
        lock = self._join()
        try:
            pause = 0.001
            while not lock.acquire(blocking=False):
                if not wait:
                    yield False
                    return
                if not deadline.allows(pause):
                    raise waited_out(deadline, f"another token request for {whose}")
                await sleep(pause)
                pause = min(pause * 2, 0.02)
            try:
                yield True
            finally:
                lock.release()
        finally:
            self._leave()

    def _join(self) -> threading.Lock:
        """Count the caller among the lock's users; the lock (made if none)."""
        with _registry_lock:
            lock = self.lock
            if lock is None:
                lock = self.lock = threading.Lock()
            self.users += 1
        return lock

    def _leave(self) -> None:
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
    from ..values.token_errors import TokenEndpointError  # oauthlib's subclass: loaded when needed

    return TokenEndpointError(
        f"no token within {deadline.seconds:g} s: {what} is still running (raise the call's "
        "timeout or token_deadline)",
        retryable=True,
    )


# The flight registry. Owner of an entry: the providers that use the flight (each holds it
# strongly); the registry holds it weakly, by cache object and cache key, so an entry goes the
# moment the last provider of that credential and cache is gone, and with it the cache object
# and held token it keeps (the token stays in its cache). The same lock guards each flight's
# lock and users.
_registry_lock = threading.Lock()
_flights: weakref.WeakValueDictionary[tuple[int, str], Flight] = weakref.WeakValueDictionary()


def flight_for(cache: object, key: str) -> Flight:
    """The process's flight for one cache key in ``cache``."""
    # Keyed by the cache's id: the flight holds its cache, so while an entry lives no other
    # object can have that id (and the ``is`` check below guards an interpreter whose weak
    # references are cleared late).
    with _registry_lock:
        flight = _flights.get((id(cache), key))
        if flight is None or flight.cache is not cache:
            flight = _flights[(id(cache), key)] = Flight(cache)
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
    """How many per-credential records the process holds (for memory and leak
    measurements): the flights some provider still refers to, and the budgets."""
    with _registry_lock:
        flights = len(_flights)
    return {"flights": flights, "budgets": budget_count()}
