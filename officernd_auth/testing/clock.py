"""``FakeClock``: time that moves only when a test says so."""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that only moves when told to; share it between the emulator and the client.

    Example:
        >>> clock = FakeClock(1000.0)
        >>> clock.advance(60); clock()
        1060.0
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"

    def __reduce__(self) -> tuple[type[FakeClock], tuple[float]]:
        return (FakeClock, (self._now,))
