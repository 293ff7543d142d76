"""The in-process token cache, and the process-wide default instance."""

from __future__ import annotations

import threading
import time

from ..token import Token
from .base import BaseTokenCache

__all__ = ["DEFAULT_MEMORY_CACHE", "MemoryTokenCache"]

_FIRST_SWEEP = 1024


class MemoryTokenCache(BaseTokenCache):
    """A thread-safe in-process cache.

    Example:
        >>> cache = MemoryTokenCache()
        >>> cache.get("nothing") is None
        True
    """

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self._sweep_at = _FIRST_SWEEP

    def get(self, key: str) -> Token | None:
        # A dict read is atomic under the GIL; no lock on the hot path.
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token
            if len(self._tokens) >= self._sweep_at:
                # A service that serves many credentials must not keep every token it ever
                # held: expired ones go, amortised (the size that triggers a sweep doubles).
                now = time.time()
                for stale in [k for k, t in self._tokens.items() if t.expires_at <= now]:
                    del self._tokens[stale]
                self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._tokens))

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def discard(self, key: str, token: Token) -> None:
        with self._lock:
            if self._tokens.get(key) == token:
                del self._tokens[key]

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"<MemoryTokenCache entries={len(self._tokens)}>"

    def __reduce__(self) -> tuple[type[MemoryTokenCache], tuple[()]]:
        # Tokens and locks are not carried across pickling: a copy starts empty.
        return (MemoryTokenCache, ())


#: Shared by every provider of the process that is given no cache, so that re-creating a
#: session in a notebook costs no token request.
DEFAULT_MEMORY_CACHE = MemoryTokenCache()
