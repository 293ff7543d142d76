"""The access token as a value: what it grants and when, in absolute time, it expires."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .interning import same
from .records import is_bearer_token, renewal_leeway

if TYPE_CHECKING:
    from .deadline import Deadline

__all__ = ["BEARER_TOKEN", "Clock", "Token", "TokenFetcher", "TokenStatus", "system_clock"]

#: RFC 6750 ``b64token``: the characters a bearer token may have, so that it fits in a header,
#: as a pattern for the caller's code (the package checks with ``records.is_bearer_token``, the
#: same rule without ``re``, which the cached-token command does not import).
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class Clock(Protocol):
    """Anything that returns the current time as seconds since the epoch (like ``time.time``)."""

    def __call__(self) -> float: ...


#: The wall clock (``time.time`` itself: no Python frame per call on the hot path). Wall time,
#: not monotonic, because expiry is shared across processes.
system_clock: Clock = time.time


class Token:
    """An OAuth 2 access token with an absolute expiry. Read-only; equal when every field is.

    The access token itself never appears in ``repr`` or ``str``.

    Attributes:
        access_token: the opaque bearer token. Never decode it.
        expires_at: absolute expiry, seconds since the epoch.
        obtained_at: when the token response arrived, seconds since the epoch.
        scopes: the scopes the token carries.
        token_type: ``"Bearer"``.
        authorization: the ``Authorization`` header value, ``"Bearer <token>"``.

    Example:
        >>> t = Token("0123abcd", expires_at=3600.0, obtained_at=0.0, scopes=frozenset())
        >>> t.is_expired(now=3550.0, leeway=60.0)
        True
        >>> "0123abcd" in repr(t)
        False
    """

    # A plain class with slots, not a dataclass: importing dataclasses (and inspect) costs
    # more than the rest of the package (benchmarks, start-up table).
    __slots__ = ("authorization", "expires_at", "obtained_at", "scopes", "token_type")

    expires_at: float
    obtained_at: float
    scopes: frozenset[str]
    token_type: str
    authorization: str

    def __init__(
        self,
        access_token: str,
        expires_at: float,
        obtained_at: float,
        scopes: frozenset[str] = frozenset(),
        token_type: str = "Bearer",  # noqa: S107 (the token type, not a password)
    ) -> None:
        setter = object.__setattr__
        # The token is kept once, inside the header value (a process serving many tenants
        # keeps one string per token, not two: benchmarks, table 5c).
        setter(self, "authorization", f"Bearer {access_token}")
        setter(self, "expires_at", expires_at)
        setter(self, "obtained_at", obtained_at)
        setter(self, "scopes", same(scopes))  # one set for every tenant with these scopes
        setter(self, "token_type", token_type)

    @property
    def access_token(self) -> str:
        """The bearer token itself."""
        return self.authorization[7:]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Token is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Token is read-only: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Token)
        return (self.authorization == other.authorization and self.expires_at == other.expires_at
                and self.obtained_at == other.obtained_at and self.scopes == other.scopes
                and self.token_type == other.token_type)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.authorization, self.expires_at, self.obtained_at, self.scopes))

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.access_token, self.expires_at, self.obtained_at, self.scopes,
                  self.token_type)  # fmt: skip
        return (self.__class__, fields)

    @property
    def lifetime(self) -> float:
        """Seconds between issue and expiry."""
        return self.expires_at - self.obtained_at

    def effective_leeway(self, leeway: float) -> float:
        """The leeway actually applied: at most half the token's lifetime
        (:func:`~officernd_auth.values.records.renewal_leeway`).

        Without the clamp a token that lives shorter than the leeway would be "expired" on
        arrival and every API call would fetch a new one.
        """
        return renewal_leeway(self.expires_at, self.obtained_at, leeway)

    def renews_at(self, leeway: float) -> float:
        """When a provider with this ``leeway`` stops sending this token and fetches another."""
        return self.expires_at - renewal_leeway(self.expires_at, self.obtained_at, leeway)

    def is_expired(self, now: float, leeway: float = 0.0) -> bool:
        """True when the token is within ``leeway`` seconds (clamped) of its expiry, or past it."""
        return now >= self.expires_at - self.effective_leeway(leeway)

    def expires_in(self, now: float) -> float:
        """Seconds left until expiry (negative once expired)."""
        return self.expires_at - now

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """The token as the dict that ``OAuth2Session.token`` users expect."""
        now = system_clock() if now is None else now
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": max(0, int(self.expires_at - now)),
            "expires_at": self.expires_at,
            "scope": sorted(self.scopes),
        }

    @classmethod
    def from_dict(
        cls, value: Mapping[str, Any], now: float, *, default_scopes: Iterable[str] = ()
    ) -> Token:
        """A token from the dict that ``OAuth2Session.token`` users hold (see :meth:`to_dict`).

        Args:
            value: ``access_token``, and ``expires_at`` (absolute) or ``expires_in`` (from
                ``now``; 3599 s, OfficeRND's lifetime, when neither is given); ``scope`` as a
                string or list, else ``default_scopes``.
            now: the current time, taken as the moment of issue.
            default_scopes: the scopes assumed when the dict names none.

        Raises:
            ConfigurationError: no usable ``access_token``, expiry or scope.
        """
        # Imported here: errors imports oauthlib (~45 ms), which reading a cached token (the
        # CLI's fast path) must not pay for.
        from .errors import ConfigurationError

        if not isinstance(value, Mapping):
            raise ConfigurationError(f"a token must be a dict, got {type(value).__name__}")
        access_token = value.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ConfigurationError("a token dict needs a non-empty 'access_token'")
        if not is_bearer_token(access_token):
            # It would go into an Authorization header as it is (header injection, or a
            # header requests refuses on every call): refused as a token answer's would be.
            raise ConfigurationError(
                "the token dict's 'access_token' has characters a bearer token cannot hold "
                "(RFC 6750: letters, digits and -._~+/ with trailing =); pass the token as issued"
            )
        # A numeric string is a number, as oauthlib and requests-oauthlib read it (tokens read
        # back from JSON stores carry one); anything else is refused, never ignored.
        if value.get("expires_at") is None:
            expires_in = _seconds(value.get("expires_in", 3599))
            if expires_in is None:
                raise ConfigurationError("the token dict's 'expires_in' must be seconds")
            expires_at = now + expires_in
        else:
            found = _seconds(value["expires_at"])
            if found is None:
                raise ConfigurationError("the token dict's 'expires_at' must be epoch seconds")
            expires_at = found
        if not math.isfinite(expires_at):
            raise ConfigurationError("the token dict's expiry must be a finite number")
        scopes = value.get("scope", None)
        if scopes is None:
            scopes = default_scopes
        if isinstance(scopes, str):
            scopes = scopes.split()
        if not all(isinstance(s, str) for s in scopes):
            raise ConfigurationError("the token dict's 'scope' must be a string or a list")
        return cls(
            access_token=access_token,
            expires_at=float(expires_at),
            obtained_at=min(now, float(expires_at)),
            scopes=frozenset(scopes),
            token_type=str(value.get("token_type", "Bearer")),
        )

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', token_type={self.token_type!r}, "
            f"expires_at={self.expires_at!r}, scopes={sorted(self.scopes)!r})"
        )

    __str__ = __repr__


def _seconds(value: object) -> float | None:
    """A number of seconds given as a number or a numeric string; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


class TokenStatus(NamedTuple):
    """What the provider knows about its cached token, without any network I/O.

    Attributes:
        state: ``"none"``, ``"valid"``, ``"renewing"`` (within the leeway: the next call fetches
            a new one) or ``"expired"``.
        expires_in: seconds until the cached token expires (``0`` when there is none).
    """

    state: str
    expires_in: float

    def __str__(self) -> str:
        if self.state == "valid":
            return f"valid for {max(0, int(self.expires_in // 60))} min"
        if self.state == "renewing":
            return f"renewing (expires in {max(0, int(self.expires_in))} s)"
        return self.state


class TokenFetcher(Protocol):
    """What sends one token request for a provider: an HTTP adapter (requests' is
    :class:`~officernd_auth.core.client.TokenClient`). One network attempt per call."""

    def fetch_token(
        self,
        scopes: tuple[str, ...],
        now: float,
        *,
        deadline: Deadline | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Token:
        """Send one token request; raise a ``TokenRequestError`` saying if it is retryable."""
