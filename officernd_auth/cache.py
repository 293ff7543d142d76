"""Where tokens are kept between requests: the ``TokenCache`` protocol and its backends.

A cache maps an opaque key (see :func:`cache_key`: token URL, client id, a hash of the secret and
the scope set) to a :class:`~officernd_auth.token.Token`. It never sees the client secret.
The default is :data:`DEFAULT_MEMORY_CACHE`, shared by every object in the process, so that
re-creating a session in a notebook costs no token request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .token import Token

__all__ = ["DEFAULT_MEMORY_CACHE", "MemoryTokenCache", "TokenCache", "cache_key"]


@runtime_checkable
class TokenCache(Protocol):
    """What the provider needs from a token store. Implementations must be thread-safe."""

    def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``."""

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any earlier one."""

    def delete(self, key: str) -> None:
        """Forget the token under ``key``; no error if there is none."""


def cache_key(token_url: str, client_id: str, client_secret: str, scopes: Iterable[str]) -> str:
    """The cache key for one credential. Contains a one-way hash of the secret, never the secret.

    Two different secrets for the same client id get different keys, so a wrong secret can never
    be answered with a token another secret obtained.
    """
    secret_hash = hashlib.sha256(f"{token_url}\0{client_id}\0{client_secret}".encode()).hexdigest()
    material = json.dumps([token_url, client_id, secret_hash, sorted(set(scopes))])
    return hashlib.sha256(material.encode()).hexdigest()


class MemoryTokenCache:
    """A thread-safe in-process cache.

    Example:
        >>> cache = MemoryTokenCache()
        >>> cache.get("nothing") is None
        True
    """

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Token | None:
        # A dict read is atomic under the GIL; no lock on the hot path.
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

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


DEFAULT_MEMORY_CACHE = MemoryTokenCache()
