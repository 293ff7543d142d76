"""The single owner of "is there a valid token": cache, leeway, single-flight lock, budget.

The session and the auth adapter both ask :meth:`TokenProvider.get_token` and never decide on
their own whether to fetch, so the two entry points behave the same by construction.

Process-wide state, keyed per credential so that two clients never wait on each other:

* one *flight* per cache key (token URL, client id, secret hash, scope set): a lock, so N threads
  that need a token make one token request, and the outcome of the last attempt, so threads that
  waited on a failing request get its error instead of sending N failing requests;
* one *budget* per (token URL, client id): at most ``token_budget`` token requests in any rolling
  ``budget_window`` seconds, failures included, as OfficeRND counts them.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import logging
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .cache import DEFAULT_MEMORY_CACHE, TokenCache, cache_key, resolve_token_cache
from .client import TokenClient
from .config import check_leeway
from .errors import (
    ConfigurationError,
    OfficeRNDAuthError,
    RateLimitedError,
    ScopeNotGrantedError,
    ScopeNotGrantedWarning,
    TokenEndpointError,
)
from .scopes import format_scopes
from .token import Clock, Token, system_clock

__all__ = ["TokenProvider"]

logger = logging.getLogger(__name__)

#: OfficeRND's documented limit: 5 token requests a minute per client, failures included.
OFFICERND_TOKEN_BUDGET = 5
OFFICERND_BUDGET_WINDOW = 60.0


class _Flight:
    """Per credential: the lock around fetching, and how the last attempt ended."""

    __slots__ = ("completed", "last_error", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.completed = 0  # token requests finished, successful or not
        self.last_error: OfficeRNDAuthError | None = None


class _Budget:
    """Per (token URL, client id): when the last token requests were sent."""

    __slots__ = ("blocked_until", "lock", "sent")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: collections.deque[float] = collections.deque()
        self.blocked_until = 0.0

    def acquire(self, now: float, limit: int | None, window: float) -> float | None:
        """Record one token request; or return how many seconds until one is allowed."""
        with self.lock:
            while self.sent and self.sent[0] <= now - window:
                self.sent.popleft()
            if now < self.blocked_until:
                return self.blocked_until - now
            if limit is not None and len(self.sent) >= limit:
                return self.sent[0] + window - now
            self.sent.append(now)
            return None

    def block(self, until: float) -> None:
        with self.lock:
            self.blocked_until = max(self.blocked_until, until)


_registry_lock = threading.Lock()
_flights: dict[str, _Flight] = {}
_budgets: dict[tuple[str, str], _Budget] = {}


def _flight_for(key: str) -> _Flight:
    with _registry_lock:
        return _flights.setdefault(key, _Flight())


def _budget_for(token_url: str, client_id: str) -> _Budget:
    with _registry_lock:
        return _budgets.setdefault((token_url, client_id), _Budget())


class TokenProvider:
    """Hands out valid tokens for one credential, fetching only when needed.

    Args:
        client_id: the application's client id.
        client_secret: the application's client secret.
        scopes: the parsed scopes to request.
        token_url: the token endpoint.
        leeway: renew this many seconds before expiry (clamped to half the token's lifetime).
        token_cache: where tokens are kept: a :class:`~officernd_auth.cache.TokenCache`, a
            directory for a ``FileTokenCache``, or a ``redis://`` URL for a
            ``RedisTokenCache``. Default: ``$OFFICERND_TOKEN_CACHE`` if set, else the
            process-wide memory cache.
        clock: returns the time as seconds since the epoch.
        token_budget: most token requests per ``budget_window`` seconds; ``None`` for no limit.
        budget_window: the rolling window of the budget, in seconds.
        max_retries: how often a 5xx or transport failure is retried (each retry uses budget).
        backoff: base of the exponential backoff between retries, in seconds.
        strict_scopes: raise :class:`ScopeNotGrantedError` when fewer scopes are granted than
            requested; when ``False`` warn and use the narrower token.
        timeout: ``(connect, read)`` timeout of one token request.
        verify: TLS verification for the token request.
        sleep: how to wait between retries (tests pass a recorder).

    Example:
        >>> provider = TokenProvider("id", "secret", ("officernd.api.read",),
        ...                          token_url="https://identity.officernd.com/oauth/token")
        >>> provider.current_token() is None   # nothing fetched yet: construction is offline
        True
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: tuple[str, ...],
        *,
        token_url: str,
        leeway: float = 60.0,
        token_cache: TokenCache | str | os.PathLike[str] | None = None,
        clock: Clock = system_clock,
        token_budget: int | None = OFFICERND_TOKEN_BUDGET,
        budget_window: float = OFFICERND_BUDGET_WINDOW,
        max_retries: int = 2,
        backoff: float = 0.5,
        strict_scopes: bool = True,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        verify: bool | str = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if token_budget is not None and (
            isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget < 1
        ):
            raise ConfigurationError(
                f"token_budget must be a whole number of at least 1, or None; got {token_budget!r}"
            )
        token_cache = resolve_token_cache(token_cache)
        if token_cache is not None and not isinstance(token_cache, TokenCache):
            raise ConfigurationError(
                "token_cache must have get(key), set(key, token) and delete(key) methods"
            )
        self.client_id = client_id
        self.scopes = scopes
        self.token_url = token_url
        self.leeway = check_leeway(leeway)
        self.token_cache: TokenCache = (
            token_cache if token_cache is not None else DEFAULT_MEMORY_CACHE
        )
        self.clock = clock
        self.token_budget = token_budget
        self.budget_window = float(budget_window)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.strict_scopes = strict_scopes
        self.sleep = sleep
        #: How many token requests this provider sent over the network.
        self.token_requests = 0
        # Calls (method, path) answered 401 right after the token was issued: the token is valid
        # but short of a scope there, so another 401 for the same call and token is not worth a
        # token request. Any other call's 401 with that token is still healed (revocation).
        self._denied: tuple[str, set[tuple[str, str]]] = ("", set())
        self.key = cache_key(token_url, client_id, client_secret, scopes)
        self._renew_at: tuple[Token | None, float] = (None, 0.0)
        self._client = TokenClient(
            token_url, client_id, client_secret, timeout=timeout, verify=verify
        )
        self._flight = _flight_for(self.key)
        self._budget = _budget_for(token_url, client_id)

    def __repr__(self) -> str:
        return (
            f"<TokenProvider {self.token_url} client_id={self.client_id!r} "
            f"scope={format_scopes(self.scopes)!r}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_flight"], state["_budget"]
        if state["token_cache"] is DEFAULT_MEMORY_CACHE:
            state["token_cache"] = None  # the unpickling process's own default cache
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["token_cache"] is None:
            state["token_cache"] = DEFAULT_MEMORY_CACHE
        self.__dict__.update(state)
        self._flight = _flight_for(self.key)
        self._budget = _budget_for(self.token_url, self.client_id)

    # -- reading ------------------------------------------------------------------------------

    def current_token(self) -> Token | None:
        """The cached token, valid or not, without any network I/O."""
        return self.token_cache.get(self.key)

    def _usable(self, token: Token | None, now: float) -> bool:
        return token is not None and not token.is_expired(now, self.leeway)

    def get_token(self) -> Token:
        """Return a valid token, fetching one only when the cached one is missing or expiring.

        Raises:
            TokenRequestError: no token could be obtained (see :mod:`officernd_auth.errors`).
            ScopeNotGrantedError: the server granted fewer scopes than requested.
        """
        token = self.token_cache.get(self.key)
        if token is not None:
            # The hot path: no lock, no allocation; the renewal time is computed once a token.
            renew = self._renew_at
            if renew[0] is token:
                if self.clock() < renew[1]:
                    return token
            elif not token.is_expired(self.clock(), self.leeway):
                self._renew_at = (token, token.expires_at - token.effective_leeway(self.leeway))
                return token
        flight = self._flight
        completed_before = flight.completed
        with flight.lock, self._cross_process_lock():
            token = self.token_cache.get(self.key)
            if self._usable(token, self.clock()):
                assert token is not None
                return token
            if flight.completed != completed_before and flight.last_error is not None:
                # Another thread tried while we waited and failed: share its answer rather
                # than spend budget on the same failure again.
                raise copy.copy(flight.last_error)
            return self._fetch_locked()

    def fetch_token(self) -> Token:
        """Fetch a new token from the network now, whatever the cache holds (budget applies)."""
        with self._flight.lock, self._cross_process_lock():
            return self._fetch_locked()

    def invalidate(self, authorization: str | Token | None = None) -> None:
        """Forget the cached token, but only if it is still the one given.

        Args:
            authorization: the token, or the ``Authorization`` header value that was sent. When
                the cache already holds a newer token (another thread renewed it), nothing is
                forgotten, so N threads that all saw a 401 cause one renewal, not N.
        """
        if isinstance(authorization, Token):
            authorization = authorization.authorization
        with self._flight.lock:
            current = self.token_cache.get(self.key)
            if current is None:
                return
            if authorization is None or current.authorization == authorization:
                discard = getattr(self.token_cache, "discard", None)
                if discard is not None:
                    discard(self.key, current)  # spares a newer token another host stored
                else:
                    self.token_cache.delete(self.key)

    def mark_denied(self, authorization: str, call: tuple[str, str]) -> None:
        """Remember that a freshly issued token was refused for ``call`` (method, path)."""
        token, calls = self._denied
        if token != authorization:
            calls = set()
        if len(calls) < 256:
            calls.add(call)
        self._denied = (authorization, calls)

    def is_denied(self, authorization: str | None, call: tuple[str, str]) -> bool:
        """True when this token was already refused for this call right after it was issued."""
        token, calls = self._denied
        return authorization == token and call in calls

    # -- fetching -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _cross_process_lock(self) -> Iterator[None]:
        """The cache's own lock across processes, where the backend has one (file, Redis)."""
        lock = getattr(self.token_cache, "lock", None)
        if lock is None:
            yield
        else:
            with lock(self.key):
                yield

    def _fetch_locked(self) -> Token:
        flight = self._flight
        attempt = 0
        while True:
            wait = self._budget.acquire(self.clock(), self.token_budget, self.budget_window)
            if wait is not None:
                if attempt > 0 and flight.last_error is not None:
                    # Out of budget mid-retry: the failure the retries were for is the answer,
                    # and it is the answer for the threads waiting on this flight too.
                    raise self._record(flight.last_error)
                raise self._budget_error(wait)
            self.token_requests += 1
            try:
                token = self._client.fetch_token(self.scopes, self.clock())
            except RateLimitedError as exc:
                retry_after = exc.retry_after if exc.retry_after is not None else self.budget_window
                self._budget.block(self.clock() + retry_after)
                raise self._record(exc) from None
            except TokenEndpointError as exc:
                retryable = exc.status_code is None or exc.status_code >= 500
                if retryable and attempt < self.max_retries:
                    delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.0)
                    logger.warning("%s; retrying in %.1f s", exc.message, delay)
                    flight.last_error = exc
                    self.sleep(delay)
                    attempt += 1
                    continue
                raise self._record(exc) from None
            except OfficeRNDAuthError as exc:
                raise self._record(exc) from None
            missing = frozenset(self.scopes) - token.scopes
            if missing:
                text = (
                    f"the token was granted without {', '.join(sorted(missing))}: grant "
                    "them under Settings -> Developer Tools -> Applications -> Configure, "
                    "or request fewer scopes"
                )
                if self.strict_scopes:
                    raise self._record(ScopeNotGrantedError(text, missing=missing))
                warnings.warn(text + "; using the narrower token", ScopeNotGrantedWarning, 2)
            flight.last_error = None
            flight.completed += 1
            self.token_cache.set(self.key, token)
            logger.debug(
                "got a token for client %s, valid for %.0f s", self.client_id, token.lifetime
            )
            return token

    def _record(self, exc: OfficeRNDAuthError) -> OfficeRNDAuthError:
        self._flight.last_error = exc
        self._flight.completed += 1
        return exc

    def _budget_error(self, wait: float) -> RateLimitedError:
        last = self._flight.last_error
        because = f" The last token request failed: {last.message}" if last is not None else ""
        if self._budget.blocked_until > self.clock():
            why = "the token endpoint answered 429 Too Many Requests"
        else:
            why = (
                f"the token budget for client {self.client_id!r} is spent ({self.token_budget} "
                f"token requests per {self.budget_window:.0f} s, as OfficeRND allows)"
            )
        return RateLimitedError(
            f"not sent: {why}; retry in {wait:.0f} s.{because}", retry_after=wait
        )
