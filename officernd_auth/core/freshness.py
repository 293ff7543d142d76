"""Is it fresh: when a token is renewed, when it may still be sent while another thread renews
it, and what :meth:`~officernd_auth.core.freshness.Freshness.status` says; decided here and
nowhere else. Caches are stores; the CLI's cache-only fast path applies
:meth:`~officernd_auth.token.Token.is_expired` with the default leeway.

A token goes through three states: *fresh* until its renewal time (its expiry minus the leeway,
clamped to half its lifetime), then *renewing* until a quarter of the leeway is left (one thread
fetches the next token; the others go on sending this one, and it is kept if the renewal
fails), then *expired* for our purposes (every caller waits for the next token).
"""

from __future__ import annotations

from collections.abc import Callable

from ..cache import TokenCache
from ..values.token import Token, TokenStatus
from .flight import Flight

__all__ = ["Freshness"]


class Freshness:
    """The provider's freshness rules (a base class of
    :class:`~officernd_auth.provider.TokenProvider`)."""

    __slots__ = ()

    # Set by the provider.
    #: The single-flight state this provider shares with the process's other providers of the
    #: same credential and cache: the lock, the last failure, the held token (read-only).
    flight: Flight
    key: str
    leeway: float
    clock: Callable[[], float]

    @property
    def token_cache(self) -> TokenCache:
        """The token cache this provider stores its tokens in, kept by its flight (one
        reference per credential and cache, not one per provider)."""
        cache: TokenCache = self.flight.cache
        return cache

    def renews_at(self, token: Token) -> float:
        """When this provider stops using ``token`` and fetches another: its expiry minus the
        leeway (clamped to half the token's lifetime)."""
        return token.renews_at(self.leeway)

    def _usable(self, token: Token | None) -> bool:
        return token is not None and self.clock() < token.renews_at(self.leeway)

    def held_in_renewal(self) -> Token | None:
        """The held token when it is past its renewal time but has a quarter of the leeway left:
        while one thread (or task) renews it, the others go on sending it instead of waiting.
        Never a lock, never I/O; ``None`` otherwise."""
        token = self.flight.held
        if token is None:
            return None
        left = token.expires_at - self.clock()
        return token if left > token.effective_leeway(self.leeway) / 4 else None

    def current_token(self) -> Token | None:
        """The cached token, valid or not, without any network I/O."""
        return self.token_cache.get(self.key)

    def status(self) -> TokenStatus:
        """Whether the cached token is usable, by the same rule
        :meth:`~officernd_auth.provider.TokenProvider.get_token` applies."""
        token = self.token_cache.get(self.key)
        if token is None:
            return TokenStatus("none", 0.0)
        now = self.clock()
        left = token.expires_in(now)
        if left <= 0:
            return TokenStatus("expired", left)
        if now >= self.renews_at(token):
            return TokenStatus("renewing", left)
        return TokenStatus("valid", left)

    def has_valid_token(self) -> bool:
        """True when a cached token will be used as it is (not expired, not within the leeway)."""
        return self.status().state == "valid"

    def fresh_token(self) -> Token | None:
        """The token this process holds, if it is before its renewal time, else ``None``: never
        a lock, never a cache read, never a token request. Every front end asks it on every
        request."""
        held = self.flight.held
        if held is None:
            return None
        now = self.clock()
        # The clamp only ever moves the renewal later (renewal_leeway <= leeway): a token
        # before its expiry minus the whole leeway is fresh without computing it.
        if now < held.expires_at - self.leeway or now < held.renews_at(self.leeway):
            return held
        return None
