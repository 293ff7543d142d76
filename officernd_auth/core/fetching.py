"""Getting a token over the network, for a thread or for a task on an event loop.

The fetch loop (spend the budget, send, retry a retryable failure after a back-off, record the
server's wait, give up with the error that says why) is written once, as steps
(``Fetching._attempts``): it yields to ask for one token request or for a pause, and the
driver of the caller's kind runs them: ``Fetching._fetch_locked`` in a thread,
``Fetching._afetch_locked`` on an event loop, where the exchange itself runs too
(:meth:`~officernd_auth.core.client.TokenClient.afetch_token`).

An async front end passes an :class:`EventLoop` (how to pause, to run a call in a worker thread
and to let a fetch finish when its caller is cancelled); this module imports no async library.
A provider whose cache is the process's memory and whose adapter sends on the loop fetches on the
loop; any other (a file, Redis or Django cache, whose locks block; a requests transport) is run in
a worker thread, its exchange sent on the caller's loop when its adapter can.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..cache.memory import MemoryTokenCache
from ..events import application_label, emit
from ..values.deadline import Deadline
from ..values.errors import ConfigurationError, OfficeRNDAuthError
from ..values.records import mask_client_id
from ..values.token import Token
from ..values.urls import origin_url
from .exchange import on_loop
from .freshness import Freshness
from .settings import Settings

if TYPE_CHECKING:
    from ..values.token_errors import TokenRequestError
    from .policy import Budget, RetryPolicy, SharedBudget

__all__ = ["EventLoop", "Fetching", "default_sender", "token_client"]

logger = logging.getLogger("officernd_auth.provider")

_T = TypeVar("_T")

#: The shortest lock wait a ``lock.waited`` event reports: a lock nobody held is not a wait.
LOCK_WAIT_SHOWN = 0.005


class EventLoop(Protocol):
    """What the core asks of an async front end's event loop library."""

    async def sleep(self, seconds: float) -> None:
        """Pause the calling task."""

    async def in_thread(self, function: Callable[[], _T]) -> _T:
        """``function()`` in a worker thread; a cancelled caller stops waiting at once and the
        call finishes in its thread."""

    def from_thread(self, function: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """From that worker thread: ``await function()`` on the caller's loop."""

    async def shielded(self, function: Callable[[], Awaitable[_T]]) -> _T:
        """``await function()``, which goes on to its end when the caller is cancelled (a token
        request stores its token and releases its locks)."""


class Fetching(Freshness):
    """The provider's fetch loop and its async entry points (a base class of
    :class:`~officernd_auth.provider.TokenProvider`)."""

    __slots__ = ()

    # Set by the provider.
    settings: Settings
    client_id: str
    scopes: tuple[str, ...]
    token_url: str
    token_deadline: float
    token_requests: int
    sleep: Callable[[float], None]
    _fetcher: Any
    _sender: Any

    if TYPE_CHECKING:

        @property
        def policy(self) -> RetryPolicy: ...
        def _budget_for(
            self, server: str, deadline: Deadline | None = ...
        ) -> Budget | SharedBudget: ...
        def _accept(self, token: Token) -> Token: ...
        def _settled(
            self, deadline: Deadline, current: Token | None, completed: int, *, first: bool
        ) -> Token | None: ...
        def _forget(self, authorization: str | None) -> None: ...
        def get_token(self, timeout: Any = None, *, deadline: Deadline | None = None) -> Token: ...
        def invalidate(
            self, authorization: str | Token | None = None, *, timeout: Any = None
        ) -> None: ...

    @property
    def application(self) -> str:
        """This provider's application as the lifecycle events and ``officernd-auth status``
        name it: the token endpoint's host and the masked client id (no secret)."""
        return application_label(self.token_url, self.client_id)

    # -- the fetch loop, as steps --------------------------------------------------------------

    def _attempts(
        self, deadline: Deadline, renewing: bool = False
    ) -> Generator[float | None, Token | None, Token]:
        """The fetch loop: yields ``None`` for one token request (the driver sends back the
        token, or throws in its error) or a pause in seconds before the next; returns the
        accepted token. Held under the flight and cache locks. ``renewing``: the current token
        is still served meanwhile (the lifecycle events say so)."""
        from ..values.token_errors import RateLimitedError, TokenRequestError

        server = origin_url(self.token_url)
        flight, policy, budget = self.flight, self.policy, self._budget_for(server, deadline)
        budget_key = (server, self.client_id)
        label = self.application
        if renewing:
            emit("token.renewal_started", label)
        attempt = 0
        while True:
            refused = policy.spend(budget, budget_key)
            if refused is not None:
                emit("budget.refused", label, reason=refused[1], wait=refused[0])
                if attempt > 0 and flight.last_error is not None:
                    # Out of budget mid-retry: the failure the retries were for is the answer,
                    # and it is the answer for the threads waiting on this flight too.
                    raise flight.record(flight.last_error)
                raise policy.refusal(budget, refused, self.client_id, flight.last_error)
            self.token_requests += 1  # type: ignore[misc]  # a slot of the provider's
            delay: float | None = None
            token: Token | None = None
            started = time.monotonic()
            try:
                with budget.in_flight():  # a shared budget counts it from its answer
                    token = yield None
            except RateLimitedError as exc:
                _failed(label, attempt, started, exc)
                emit("server.wait", label, retry_after=exc.retry_after or 0.0)
                raise flight.record(policy.server_said_wait(budget, budget_key, exc)) from None
            except TokenRequestError as exc:
                _failed(label, attempt, started, exc)
                delay = policy.retry_delay(exc, attempt, deadline)
                if delay is None:
                    exc = policy.give_up(exc, attempt, deadline, self.token_deadline, budget)
                    raise flight.record(exc) from None
                logger.warning("%s; retrying in %.1f s", exc.message, delay)
                flight.last_error = exc
            except OfficeRNDAuthError as exc:
                _failed(label, attempt, started, exc)
                raise flight.record(exc) from None
            if delay is None:
                assert token is not None
                accepted = self._accept(token)  # stored and held: then said
                cache = type(self.token_cache).__name__
                emit("token.fetched", label, attempt=attempt + 1,
                     duration=time.monotonic() - started, cache=cache)  # fmt: skip
                if renewing:
                    emit("token.renewal_finished", label, lifetime=accepted.lifetime)
                return accepted
            yield delay
            attempt += 1

    def _fetch_locked(
        self,
        deadline: Deadline,
        overrides: Mapping[str, Any] | None = None,
        renewing: bool = False,
    ) -> Token:
        """Run the fetch loop in this thread."""
        # Made per fetch when the provider keeps none (its transport is shared): memory per
        # tenant, benchmarks table 5c.
        client = self._fetcher or token_client(self.settings, self._sender)

        def attempt() -> Token:
            now = self.clock()
            return client.fetch_token(self.scopes, now, deadline=deadline, overrides=overrides)  # type: ignore[no-any-return]

        steps = self._attempts(deadline, renewing)
        try:
            step = next(steps)
            while True:
                if step is not None:
                    self.sleep(step)
                    step = steps.send(None)
                    continue
                try:
                    token = attempt()
                except OfficeRNDAuthError as exc:
                    failure: OfficeRNDAuthError | None = exc
                else:
                    failure = None
                # Thrown in outside the except block: the steps' own error is raised bare.
                step = steps.send(token) if failure is None else steps.throw(failure)
        except StopIteration as done:
            accepted: Token = done.value
            return accepted
        finally:
            steps.close()

    async def _afetch_locked(
        self, deadline: Deadline, loop: EventLoop, renewing: bool = False
    ) -> Token:
        """Run the fetch loop on the event loop: the exchange on the loop, the pauses too."""
        client = self._fetcher or token_client(self.settings, self._sender)
        steps = self._attempts(deadline, renewing)
        try:
            step = next(steps)
            while True:
                if step is not None:
                    if self.sleep is time.sleep:
                        await loop.sleep(step)
                    else:
                        self.sleep(step)  # the sleep the caller gave (a test's recorder)
                    step = steps.send(None)
                    continue
                try:
                    token = await client.afetch_token(self.scopes, self.clock(), deadline=deadline)
                except OfficeRNDAuthError as exc:
                    failure: OfficeRNDAuthError | None = exc
                else:
                    failure = None
                step = steps.send(token) if failure is None else steps.throw(failure)
        except StopIteration as done:
            accepted: Token = done.value
            return accepted
        finally:
            steps.close()

    def _from_cache(self, token: Token, *, waited: bool) -> Token:
        """``token``, stored by another thread or process, taken from the cache: say so."""
        label = self.application
        left = token.expires_in(self.clock())
        cache = type(self.token_cache).__name__
        emit("token.from_cache", label, cache=cache, left=left, after_wait=waited)
        return token

    def _waited(self, lock: str, started: float) -> None:
        """Say that a call waited at least :data:`LOCK_WAIT_SHOWN` s for the ``lock``
        (``flight``: another thread's token request; ``cache``: another process's)."""
        waited = time.monotonic() - started
        if waited >= LOCK_WAIT_SHOWN:
            emit("lock.waited", self.application, lock=lock, duration=waited)

    def _keep_current(self, error: TokenRequestError, current: Token) -> Token:
        """A renewal failed while the current token is still valid: say so and go on with it."""
        left = current.expires_in(self.clock())
        emit("token.renewal_failed", self.application, error=type(error).__name__, left=left)
        logger.warning(
            "%s; going on with the current token, valid for %.0f s more", error.message, left
        )
        return current

    # -- async entry points --------------------------------------------------------------------

    def fetches_on_loop(self) -> bool:
        """True when a task's token request runs on its event loop: the token cache is the
        process's memory (its lock holds nothing) and the adapter sends on the loop."""
        fetcher = self._fetcher
        if fetcher is not None and not hasattr(fetcher, "afetch_token"):
            return False  # a fetcher of the caller's own: sync only
        sender = getattr(fetcher, "transport", None) or self._sender
        return getattr(sender, "sends_async", False) and isinstance(
            self.token_cache, MemoryTokenCache
        )

    async def aget_token(
        self, loop: EventLoop, timeout: float | tuple[float | None, float | None] | None = None
    ) -> Token:
        """:meth:`~officernd_auth.provider.TokenProvider.get_token` for a task on ``loop``.

        A token request runs on the loop when :meth:`fetches_on_loop`; otherwise the call runs
        in a worker thread (a file, Redis or Django cache's locks block), its exchange sent on
        the loop when the adapter can. Either way a cancelled caller leaves the fetch to finish,
        storing its token for the next caller and releasing every lock.
        """
        token = self.fresh_token()
        if token is not None:
            return token
        if not self.fetches_on_loop():
            return await loop.in_thread(functools.partial(self._get_token_for, loop, timeout))
        seen = self.flight.changes
        token = self.token_cache.get(self.key)
        if self._usable(token):
            assert token is not None
            self.flight.adopt(token, seen)
            return token
        deadline = Deadline.for_call(timeout, self.token_deadline)
        current = self.held_in_renewal()
        locked = functools.partial(self._aget_token_locked, loop, deadline, current)
        return await loop.shielded(locked)

    async def _aget_token_locked(
        self, loop: EventLoop, deadline: Deadline, current: Token | None
    ) -> Token:
        from ..values.token_errors import TokenRequestError

        completed = self.flight.completed
        whose = f"client {mask_client_id(self.client_id)!r}"
        started = time.monotonic()
        async with self.flight.alocked(deadline, whose, loop.sleep, wait=current is None) as held:
            if not held:
                assert current is not None
                return current
            self._waited("flight", started)
            for first in (True, False):  # before and after the cache's lock, which holds nothing
                found = self._settled(deadline, current, completed, first=first)
                if found is not None:
                    return found
            try:
                return await self._afetch_locked(deadline, loop, renewing=current is not None)
            except TokenRequestError as exc:
                if current is None:
                    raise
                return self._keep_current(exc, current)

    def _get_token_for(
        self, loop: EventLoop, timeout: float | tuple[float | None, float | None] | None
    ) -> Token:
        with on_loop(loop.from_thread):
            return self.get_token(timeout)

    async def ainvalidate(
        self,
        loop: EventLoop,
        authorization: str | Token | None = None,
        timeout: float | tuple[float | None, float | None] | None = None,
    ) -> None:
        """:meth:`~officernd_auth.provider.TokenProvider.invalidate` for a task on ``loop``."""
        if isinstance(authorization, Token):
            authorization = authorization.authorization
        if not self.fetches_on_loop():
            forget = functools.partial(self.invalidate, authorization, timeout=timeout)
            await loop.in_thread(forget)
            return
        deadline = Deadline.for_call(timeout, self.token_deadline)
        whose = f"client {mask_client_id(self.client_id)!r}"
        async with self.flight.alocked(deadline, whose, loop.sleep):
            self._forget(authorization)


def _failed(label: str, attempt: int, started: float, error: OfficeRNDAuthError) -> None:
    emit("token.fetch_failed", label, attempt=attempt + 1, error=type(error).__name__,
         duration=time.monotonic() - started)  # fmt: skip


#: Makes the sender of a provider that no front end gave one, from its settings: set by the
#: public :mod:`officernd_auth.provider` to requests' shared transport (requests is the
#: package's core dependency). The core itself has no HTTP library to fall back on.
default_sender: Callable[[Settings], Any] | None = None


def token_client(settings: Settings, sender: Any) -> Any:
    """A :class:`~officernd_auth.core.client.TokenClient` sending over ``sender``, else over
    :data:`~officernd_auth.core.fetching.default_sender`'s.

    Raises:
        ConfigurationError: no sender, and no default.
    """
    from .client import TokenClient

    if sender is None:
        if default_sender is None:
            raise ConfigurationError(
                "this token provider has no HTTP adapter to send its token request: use it "
                "through a front end (OfficeRNDSession, OfficeRNDAuth, officernd_auth.httpx), "
                "import it from officernd_auth.provider, or call its use_transport()"
            )
        sender = default_sender(settings)
    return TokenClient.from_settings(settings, sender)
