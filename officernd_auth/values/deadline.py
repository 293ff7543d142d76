"""How long a call may wait, decided once per call and carried down every path.

A :class:`Deadline` is a moment on the monotonic clock. It is made once per call from the call's
``timeout`` and ``token_deadline`` (:meth:`Deadline.for_call`) and then passed to every wait:
the flight lock, the cache's cross-process lock, each token request's connect and read timeouts,
and the backoff between retries. Real (monotonic) time, not the provider's clock: it bounds how
long a caller really waits, which a frozen test clock must not stretch into a hang.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "MAX_IN_FLIGHT",
    "MAX_SERVER_WAIT",
    "Deadline",
    "parse_retry_after",
    "takes_keyword",
    "takes_timeout",
    "wait_bound",
]

#: The longest wait a token endpoint's 429 imposes (the cap on ``Retry-After``), in seconds. A
#: shared budget record that asks for longer was not written by this package: it is clamped.
MAX_SERVER_WAIT = 3600.0
#: The longest a token request is counted as in flight before its answer settles it (a shared
#: budget counts it from the latest moment it could still arrive: its call's deadline, at most
#: this), in seconds; a send time further ahead than this and a window was not written by us.
MAX_IN_FLIGHT = 120.0


def wait_bound(timeout: float | tuple[float | None, float | None] | None) -> float:
    """The most seconds a requests-style ``timeout`` lets a call wait: a number as it is, a
    ``(connect, read)`` pair as the sum of its parts, ``None`` (or a pair of them) as no bound
    (``inf``)."""
    if isinstance(timeout, tuple):
        parts = [t for t in timeout if t is not None]
        return float(sum(parts)) if parts else math.inf
    return math.inf if timeout is None else float(timeout)


class Deadline:
    """A moment (``time.monotonic()``) that a call must not outlast; ``inf`` for none.

    Example:
        >>> d = Deadline.for_call(timeout=0.3, token_deadline=60.0)
        >>> 0 < d.remaining() <= 0.3
        True
    """

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        #: How many seconds the call was given (for messages).
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    @classmethod
    def for_call(
        cls,
        timeout: float | tuple[float | None, float | None] | None,
        token_deadline: float,
    ) -> Deadline:
        """The deadline of a call with this requests-style ``timeout``: the shorter of it and
        ``token_deadline`` (a call with no timeout waits at most ``token_deadline``)."""
        return cls(min(wait_bound(timeout), token_deadline))

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """True once the moment has passed."""
        return time.monotonic() >= self.at

    def allows(self, seconds: float) -> bool:
        """True when waiting ``seconds`` more still ends before the deadline."""
        return time.monotonic() + seconds < self.at

    def lock_timeout(self) -> float:
        """The ``timeout`` to give ``threading.Lock.acquire``: ``-1`` (no limit) for ``inf``."""
        left = self.remaining()
        return -1 if math.isinf(left) else left

    def bound(self, connect: float, read: float) -> tuple[float, float]:
        """A ``(connect, read)`` timeout pair cut to what is left (at least 1 ms each)."""
        left = max(0.001, self.remaining())
        return min(connect, left), min(read, left)

    def __repr__(self) -> str:
        return f"<Deadline {self.seconds:g} s, {self.remaining():.3f} s left>"


def takes_timeout(method: Callable[..., Any]) -> bool:
    """True when ``method`` accepts ``timeout=`` (see :func:`takes_keyword`)."""
    return takes_keyword(method, "timeout")


def takes_keyword(method: Callable[..., Any], name: str) -> bool:
    """True when ``method`` accepts the keyword ``name`` (ours do; older custom caches may not).

    Read from the code object (through ``functools.wraps``, as ``contextlib.contextmanager``
    leaves it): ``inspect.signature`` would import ``inspect`` (~5 ms) when the first provider
    is made."""
    function = getattr(method, "__func__", method)
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    code = getattr(function, "__code__", None)
    if code is None:  # not a Python function (a callable object, a builtin)
        import inspect

        try:
            return name in inspect.signature(method).parameters
        except (TypeError, ValueError):
            return False
    named = code.co_argcount + code.co_kwonlyargcount
    return name in code.co_varnames[code.co_posonlyargcount : named]  # not positional-only


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header, given in seconds or as an HTTP date (RFC 9110
    section 10.2.3; a date already past is 0); at most ``MAX_SERVER_WAIT``. ``None`` if absent
    or unusable."""
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = _seconds_until(value)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_SERVER_WAIT)


def _seconds_until(http_date: str) -> float | None:
    from email.utils import parsedate_to_datetime  # only for the rare date form

    try:
        moment = parsedate_to_datetime(http_date.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, moment.timestamp() - time.time())
