"""The in-process token cache, and the process-wide default instance."""

from __future__ import annotations

import heapq
import threading
import time

from ..values.token import Token
from .base import BaseTokenCache

__all__ = ["DEFAULT_MEMORY_CACHE", "MemoryTokenCache"]


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
        # (expiry, key) of every token stored, soonest first: expired tokens are dropped by
        # time, a few at each store, rather than in a sweep when the cache has doubled.
        self._expiries: list[tuple[float, str]] = []

    def get(self, key: str) -> Token | None:
        # A dict read is atomic under the GIL; no lock on the hot path.
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token
            expiries = self._expiries
            heapq.heappush(expiries, (token.expires_at, key))
            # A service that serves many credentials must not keep every token it ever held:
            # the expired ones go now, each once (O(log n) per token stored).
            now = time.time()
            while expiries and expiries[0][0] <= now:
                _, stale = heapq.heappop(expiries)
                current = self._tokens.get(stale)
                if current is not None and current.expires_at <= now:
                    del self._tokens[stale]
            if len(expiries) > 2 * len(self._tokens) + 64:
                # entries of tokens replaced or deleted since: rebuilt from the live ones
                self._expiries = [(t.expires_at, k) for k, t in self._tokens.items()]
                heapq.heapify(self._expiries)

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
            self._expiries.clear()

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
