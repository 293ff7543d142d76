"""May I send a token request, and may I retry: the budget and the retry policy, in one place.

* :class:`Budget`: per application (token URL, client id), when the last token requests were
  sent and until when the server asked us to wait (a 429). OfficeRND counts 5 token requests a
  minute per application, failures included; every provider of the process that shares the
  credential shares its budget.
* :class:`SharedBudget`: the same, kept in a token cache that other processes and hosts share
  (file, Redis), so that all of them together stay within the limit and honour a 429 any of them
  saw. If the cache cannot be reached, the process's own :class:`Budget` decides meanwhile.
* :class:`RetryPolicy`: spending the budget, how long a 429 blocks it, and whether (and after
  how long) a failed token request is retried. Errors say whether they may be retried
  (``TokenRequestError.retryable``); the policy never reads a message. No I/O, no HTTP library.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
import weakref
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..values.deadline import MAX_IN_FLIGHT, Deadline, takes_keyword
from ..values.errors import OfficeRNDAuthError
from ..values.records import mask_client_id
from ..values.token import Clock, system_clock

if TYPE_CHECKING:
    from ..values.token_errors import RateLimitedError, TokenRequestError
    from .settings import Settings

__all__ = [
    "Budget", "BudgetStore", "Refusal", "RetryPolicy", "SharedBudget", "budget_count",
    "budget_for", "forget_budgets", "prune_idle_budgets",
]  # fmt: skip

#: Why a token request was not let out, as ``(seconds to wait, "server" or "budget")``.
Refusal = tuple[float, str]


@runtime_checkable
class BudgetStore(Protocol):
    """A token cache that also keeps each application's budget (``FileTokenCache``,
    ``RedisTokenCache``). Both methods raise ``OSError`` when the shared state is out of reach."""

    def spend_budget(
        self, application: str, now: float, limit: int | None, window: float
    ) -> Refusal | None:
        """Record one token request at ``now``, or say why not and for how long."""

    def block_budget(self, application: str, until: float, now: float) -> None:
        """Let no token request out before ``until`` (the server answered 429 at ``now``)."""


class Budget:
    """Per application, in this process: when the last token requests were sent, and any server
    wait."""

    #: Where the budget is shared, for messages; ``None`` as it is not shared beyond this process.
    shared_through: str | None = None

    __slots__ = (
        "__weakref__", "blocked_until", "busy_until", "clock", "last_failure", "lock", "sent",
    )  # fmt: skip

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # A list, not a deque: it holds at most the budget (5) and a deque's first block is
        # 600 bytes, per application (benchmarks, table 5c).
        self.sent: list[float] = []
        self.blocked_until = 0.0
        # Until when this budget still constrains anything, on the clock that last used it.
        self.busy_until = 0.0
        self.clock: Clock = system_clock
        #: ``(when, message)`` of the last token request of this application that failed in
        #: this process, whichever credential sent it (a wrong secret spends the budget of the
        #: right one): a refusal then says that failures spent it.
        self.last_failure: tuple[float, str] | None = None

    @property
    def local(self) -> Budget:
        """The in-process budget (this one)."""
        return self

    def acquire(self, now: float, limit: int | None, window: float, clock: Clock) -> Refusal | None:
        """Record one token request; or say how many seconds until one is allowed, and why."""
        with self.lock:
            while self.sent and self.sent[0] <= now - window:
                del self.sent[0]
            if now < self.blocked_until:
                return (self.blocked_until - now, "server")
            if limit is not None and len(self.sent) >= limit:
                return (self.sent[0] + window - now, "budget")
            self.sent.append(now)
            self.busy_until = max(self.busy_until, now + window)
            self.clock = clock
            return None

    def block(self, until: float, clock: Clock) -> None:
        """Send nothing before ``until`` (the server answered 429)."""
        with self.lock:
            self.blocked_until = max(self.blocked_until, until)
            self.busy_until = max(self.busy_until, until)
            self.clock = clock

    def in_flight(self) -> contextlib.nullcontext[None]:
        """Around sending the token request this budget let out: nothing to do in one process
        (see :meth:`SharedBudget.in_flight`)."""
        return contextlib.nullcontext()

    def clear(self) -> None:
        """Forget every request sent, every wait and the last failure."""
        with self.lock:
            self.sent.clear()
            self.blocked_until = 0.0
            self.busy_until = 0.0
            self.last_failure = None

    def idle(self) -> bool:
        """True when forgetting this budget changes nothing: no send in its window, no block."""
        return self.clock() >= self.busy_until


class SharedBudget:
    """An application's budget kept in a cache that other processes share.

    Args:
        store: the cache that keeps it.
        application: the application's key (see ``cache.base.application_key``: token URL and
            client id, never the secret).
        local: this process's :class:`Budget`, which decides while the store is out of reach
            and also remembers every 429 seen here.
        deadline: the call's deadline: the store's lock is waited for at most half of what
            it leaves.
    """

    def __init__(
        self,
        store: BudgetStore,
        application: str,
        local: Budget,
        deadline: Deadline | None = None,
    ) -> None:
        self.store = store
        self.application = application
        self.local = local
        self.shared_through = repr(store)
        self.deadline = deadline  # of the call (None: the store's own bound on its lock)
        #: The send time recorded for the request this budget let out, and its window, until
        #: :meth:`in_flight` settles it; ``None`` when the store did not record one.
        self.counted: tuple[float, float] | None = None
        self.clock: Clock = system_clock

    def acquire(self, now: float, limit: int | None, window: float, clock: Clock) -> Refusal | None:
        """As :meth:`Budget.acquire`, across every process that shares the store.

        The request is counted from the latest moment it could still arrive (its deadline, at
        most ``MAX_IN_FLIGHT``) until :meth:`in_flight` settles it at its answer: the server
        counts arrivals, and a process stalled between this yes and sending must not let the
        fleet exceed the limit (a store whose ``spend_budget`` takes no ``at=`` counts it from
        now). Where the store takes ``timeout=``, its lock is waited for at most half the time
        the call's deadline leaves; a store that cannot answer in time leaves the decision to
        this process's budget."""
        spend = self.store.spend_budget
        left = math.inf if self.deadline is None else self.deadline.remaining()
        keywords: dict[str, float] = {}
        if math.isfinite(left) and takes_keyword(spend, "timeout"):
            # Half of what is left: past it the process's own budget decides, and the token
            # request still has the other half.
            keywords["timeout"] = max(0.0, left / 2)
        if takes_keyword(spend, "at") and hasattr(self.store, "settle_budget"):
            keywords["at"] = now + min(left, MAX_IN_FLIGHT)
        try:
            refused = spend(self.application, now, limit, window, **keywords)
        except OSError:
            return self.local.acquire(now, limit, window, clock)
        if refused is None and "at" in keywords:
            self.counted, self.clock = (keywords["at"], window), clock
        return refused

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Around sending the request this budget let out: when its answer (or failure) comes,
        it is counted from then, for every process sharing the store."""
        try:
            yield
        finally:
            counted, self.counted = self.counted, None
            with contextlib.suppress(OSError):
                if counted is not None:
                    settle = self.store.settle_budget  # type: ignore[attr-defined]
                    settle(self.application, counted[0], self.clock(), counted[1])

    def block(self, until: float, clock: Clock) -> None:
        """As :meth:`Budget.block`, for every process that shares the store."""
        self.local.block(until, clock)
        with contextlib.suppress(OSError):
            self.store.block_budget(self.application, until, clock())


# The budget registry. Owners of an entry: the token requests in flight that use it (providers
# look their budget up per fetch) and, while it still counts anything, ``_busy_budgets``: a
# budget with a request in its window or a server wait is held strongly until both have passed,
# because a provider re-created within the minute must find the requests already sent. The
# registry itself holds budgets weakly, so a service that serves many credentials does not grow
# with every one it ever saw. Busy budgets that went idle are let go at the first budget lookup
# or token request ``PRUNE_EVERY`` seconds after the last such sweep, or by
# :func:`prune_idle_budgets`: at most two windows after their last use.
_registry_lock = threading.Lock()
_budgets: weakref.WeakValueDictionary[tuple[str, str], Budget] = weakref.WeakValueDictionary()
_busy_budgets: dict[tuple[str, str], Budget] = {}
#: Seconds between sweeps of the budgets that went idle (a window: they stay at most two).
PRUNE_EVERY = 60.0
_last_prune = 0.0
_peak = 0  # the most budgets the registries held since they were last made again


def budget_for(token_url: str, client_id: str) -> Budget:
    """The process's budget for one application at one token endpoint."""
    global _peak
    with _registry_lock:
        if time.monotonic() >= _last_prune + PRUNE_EVERY:
            _prune_locked()
        budget = _budgets.get((token_url, client_id))
        if budget is None:
            budget = _budgets[(token_url, client_id)] = Budget()
            _peak = max(_peak, len(_budgets) + len(_busy_budgets))
        return budget


def _keep_busy(key: tuple[str, str], budget: Budget) -> None:
    with _registry_lock:
        _busy_budgets[key] = budget
        if time.monotonic() >= _last_prune + PRUNE_EVERY:
            _prune_locked()


def prune_idle_budgets() -> None:
    """Let go of every budget that counts nothing any more (no request in its window, no
    server wait); done by itself every ``PRUNE_EVERY`` seconds while token requests go
    out. A budget no provider refers to then goes too: providers look theirs up per fetch."""
    with _registry_lock:
        _prune_locked()


def _prune_locked() -> None:
    global _budgets, _last_prune, _peak
    # Swept by time, not when the registry has doubled: a budget idle for a window is gone
    # within the next one, however many tenants came and went.
    for stale in [k for k, b in _busy_budgets.items() if b.idle()]:
        del _busy_budgets[stale]
    # A dict does not shrink by deleting from it: after a burst of tenants went idle, the
    # registries are made again at their new size (a tenant's share of the empty slots was
    # 37 bytes, benchmarks table 5c).
    if (len(_budgets) + len(_busy_budgets)) * 4 < _peak:
        kept = dict(_busy_budgets)
        _busy_budgets.clear()
        _busy_budgets.update(kept)
        _budgets = weakref.WeakValueDictionary(_budgets)
        _peak = len(_budgets) + len(_busy_budgets)
    _last_prune = time.monotonic()


def budget_count() -> int:
    """How many budgets the process holds (for memory measurements)."""
    with _registry_lock:
        return len(_budgets)


def forget_budgets() -> None:
    """Clear every budget of the process (requests sent, server waits)."""
    with _registry_lock:
        budgets = list(_budgets.values())
        _busy_budgets.clear()
    for budget in budgets:
        budget.clear()


class RetryPolicy:
    """Whether a token request may be sent, and whether a failed one is tried again.

    Attributes:
        max_retries: how often a retryable failure is retried.
        backoff: base of the exponential backoff (with jitter), in seconds.
        token_budget: most token requests per ``budget_window`` (``None``: no limit).
        budget_window: the budget's rolling window, in seconds.
        clock: the time source the budget counts in.
    """

    __slots__ = ("backoff", "budget_window", "clock", "max_retries", "token_budget")

    max_retries: int
    backoff: float
    token_budget: int | None
    budget_window: float
    clock: Clock

    def __init__(
        self,
        max_retries: int,
        backoff: float,
        token_budget: int | None,
        budget_window: float,
        clock: Clock = system_clock,
    ) -> None:
        setter = object.__setattr__
        setter(self, "max_retries", max_retries)
        setter(self, "backoff", backoff)
        setter(self, "token_budget", token_budget)
        setter(self, "budget_window", budget_window)
        setter(self, "clock", clock)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a RetryPolicy is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a RetryPolicy is read-only: cannot delete {name!r}")

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries!r}, backoff={self.backoff!r}, "
            f"token_budget={self.token_budget!r}, budget_window={self.budget_window!r}, "
            f"clock={self.clock!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.max_retries, self.backoff, self.token_budget, self.budget_window,
                  self.clock)  # fmt: skip
        return (self.__class__, fields)

    @property
    def counted_window(self) -> float:
        """The window the budget counts in, ``budget_window`` and a second.

        The server counts a request when it arrives, we when we send it; without the margin a
        request sent the moment our window lets it could arrive while the server's window
        still holds the one it replaces (seen with 8 processes on two cores: 0.1 s was not
        enough).
        """
        return self.budget_window + 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy that ``settings`` ask for: one object for every provider that asks for the
        same (it is read-only)."""
        fields = (settings.max_token_retries, settings.backoff, settings.token_budget,
                  settings.budget_window, settings.clock)  # fmt: skip
        if cls is RetryPolicy:
            with contextlib.suppress(TypeError):  # a clock that cannot be hashed: not shared
                return _shared_policy(*fields)  # type: ignore[arg-type]
        return cls(*fields)

    def spend(self, budget: Budget | SharedBudget, key: tuple[str, str]) -> Refusal | None:
        """Take one token request from ``budget``: ``None`` when it may be sent, else how many
        seconds until one may, and whether the server or the budget decided it."""
        refusal = budget.acquire(self.clock(), self.token_budget, self.counted_window, self.clock)
        if refusal is None:
            _keep_busy(key, budget.local)
        return refusal

    def server_said_wait(
        self, budget: Budget | SharedBudget, key: tuple[str, str], error: RateLimitedError
    ) -> RateLimitedError:
        """The server answered 429: send nothing until its ``Retry-After`` (or a window).
        Returns the error to raise, saying who else now waits."""
        from ..values.token_errors import RateLimitedError  # oauthlib's: loaded when needed

        wait = error.retry_after if error.retry_after is not None else self.budget_window
        budget.block(self.clock() + wait, self.clock)
        _keep_busy(key, budget.local)
        if budget.shared_through:
            advice = f"; every process sharing {budget.shared_through} waits too"
        else:
            advice = (
                "; across processes set OFFICERND_TOKEN_CACHE to a directory (FileTokenCache) "
                "or a redis:// URL (RedisTokenCache), which share this wait and the budget"
            )
        return RateLimitedError(
            error.message + advice,
            status_code=error.status_code,
            error=error.error,
            description=error.description,
            retry_after=error.retry_after,
        )

    def retry_delay(
        self, error: TokenRequestError, attempt: int, deadline: Deadline
    ) -> float | None:
        """Seconds to wait before retrying after the ``attempt``-th failure (counted from 0),
        or ``None`` when it is not retried: not retryable, retries used up, or the backoff
        would pass the deadline."""
        if not error.retryable or attempt >= self.max_retries:
            return None
        delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.0)
        return delay if deadline.allows(delay) else None

    def give_up(
        self,
        error: TokenRequestError,
        attempt: int,
        deadline: Deadline,
        token_deadline: float,
        budget: Budget | SharedBudget,
    ) -> TokenRequestError:
        """``error``, the last of a call, remembered by the budget (a refusal then says that
        failures spent it). When only time kept it from being retried, it says which bound ran
        out: the call's ``timeout``, or ``token_deadline`` (the bound of a call with none, such
        as every call through a bare ``OfficeRNDAuth``: requests does not hand an auth object
        the call's timeout)."""
        from ..values.token_errors import TokenEndpointError  # oauthlib's: loaded when needed

        budget.local.last_failure = (self.clock(), error.message)
        if type(error) is not TokenEndpointError or not error.retryable:
            return error
        if attempt >= self.max_retries and deadline.remaining() > 0.05:
            return error  # the retries ran out, not the time
        bound = "token_deadline" if deadline.seconds >= token_deadline else "the call's timeout"
        return TokenEndpointError(
            f"{error.message}; not retried: {bound} ({deadline.seconds:g} s) left no time (raise "
            "it; a bare OfficeRNDAuth never sees requests' timeout, set its token_deadline)",
            status_code=error.status_code,
            error=error.error,
            description=error.description,
            retryable=True,
        )

    def refusal(
        self,
        budget: Budget | SharedBudget,
        refused: Refusal,
        client_id: str,
        last_error: OfficeRNDAuthError | None,
    ) -> RateLimitedError:
        """The error for a token request the budget did not let out: how long to wait, who
        decided, and where the budget is shared."""
        from ..values.token_errors import RateLimitedError  # oauthlib's: loaded when needed

        wait, reason = refused
        because = f" The last token request failed: {last_error.message}" if last_error else ""
        shared = budget.shared_through
        if reason == "server":
            why = "the token endpoint answered 429 Too Many Requests"
            if shared:
                why += f" (to this or another process sharing {shared})"
        else:
            why = (
                f"the token budget for client {mask_client_id(client_id)!r} is spent "
                f"({self.token_budget} token requests per {self.budget_window:.0f} s, as "
                "OfficeRND allows"
                + (f", counted for every process sharing {shared})" if shared else ")")
            )
        seconds = max(1, math.ceil(wait))
        failure = budget.local.last_failure
        if last_error is None and failure and failure[0] > self.clock() - self.counted_window:
            last_error = OfficeRNDAuthError(failure[1])  # another credential's, same application
        if reason == "budget" and last_error is not None:
            # Failed attempts (a wrong secret, a scope not granted) spent it: sharing sessions
            # is not the fix, their cause is.
            clear = (
                f"'officernd-auth cache clear --budget' clears the budget kept in {shared}"
                if shared and "FileTokenCache" in shared
                else "officernd_auth.reset() clears this process's budget"
            )
            advice = (
                f" Failed token requests spent it; fix their cause first (the last failure is "
                f"below). The budget frees by itself in {seconds} s; where no other process uses "
                f"this application (a test, a script), {clear}."
            )
            if not shared:
                advice += (
                    " Processes share it only through a token cache: OFFICERND_TOKEN_CACHE set "
                    "to a directory or a redis:// URL."
                )
            because = f" The last token request failed: {last_error.message}"
        elif shared:
            advice = ""
        else:
            advice = (
                " Share one session or auth object per credential; across processes share a "
                "token cache: set OFFICERND_TOKEN_CACHE to a directory (FileTokenCache) or a "
                "redis:// URL (RedisTokenCache)."
            )
        return RateLimitedError(
            f"not sent: {why}; retry in {seconds:d} s.{advice}{because}",
            retry_after=wait,
        )


# One policy for every provider with the same options (it is read-only): memory per tenant.
_shared_policy = lru_cache(maxsize=64)(RetryPolicy)
