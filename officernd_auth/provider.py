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
import math
import os
import random
import re
import textwrap
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, TypeVar

from .cache import DEFAULT_MEMORY_CACHE, TokenCache, cache_key, resolve_token_cache
from .client import TokenClient
from .config import (
    DEFAULT_TOKEN_URL,
    check_leeway,
    check_url,
    mask_client_id,
    normalise_url,
    required_setting,
    setting,
)
from .errors import (
    ConfigurationError,
    OfficeRNDAuthError,
    RateLimitedError,
    ScopeNotGrantedError,
    ScopeNotGrantedWarning,
    TokenEndpointError,
)
from .scopes import check_scopes, format_scopes, parse_scopes
from .token import Clock, Token, system_clock
from .transport import PlainTransport, Transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "OPTION_NAMES",
    "PROVIDER_OPTIONS_DOC",
    "ProviderOptions",
    "TokenProvider",
    "TokenStatus",
    "registry_sizes",
    "reset",
    "resolve_provider",
]

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

#: OfficeRND's documented limit: 5 token requests a minute per client, failures included.
OFFICERND_TOKEN_BUDGET = 5
OFFICERND_BUDGET_WINDOW = 60.0


def resolve_provider(
    client_id: str | None = None,
    client_secret: str | None = None,
    scope: str | Iterable[str] | None = None,
    *,
    provider: TokenProvider | None = None,
    **options: Unpack[ProviderOptions],
) -> TokenProvider:
    """Make a provider from arguments, falling back to the ``OFFICERND_*`` environment.

    The only reader of ``OFFICERND_CLIENT_ID``, ``OFFICERND_CLIENT_SECRET``, ``OFFICERND_SCOPE``
    and ``OFFICERND_TOKEN_URL``. With ``provider=``, that provider is returned as it is, and
    passing credentials or options beside it is an error rather than silently ignored.

    Raises:
        ConfigurationError: a setting is missing or unusable, or given beside ``provider=``.
    """
    check_option_names(options, "resolve_provider()")
    if provider is not None:
        if not isinstance(provider, TokenProvider):
            raise ConfigurationError(
                f"provider must be a TokenProvider, got {type(provider).__name__}"
            )
        given = [
            name
            for name, value in (
                ("client_id", client_id),
                ("client_secret", client_secret),
                ("scope", scope),
            )
            if value is not None
        ] + sorted(options)
        if given:
            raise ConfigurationError(
                f"pass either provider= or its settings, not both: {', '.join(given)} would be "
                "ignored; set them on the TokenProvider instead"
            )
        return provider
    resolved_scope = required_setting("scope", None) if scope is None else scope
    options["token_url"] = setting("token_url", options.get("token_url"), required=False)
    return TokenProvider(
        required_setting("client_id", client_id),
        required_setting("client_secret", client_secret),
        resolved_scope,
        **options,
    )


def _credential(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{name} must be a non-empty string, got {type(value).__name__}: pass {name}=... "
            "(or build the provider with resolve_provider() to read OFFICERND_* variables)"
        )
    return value.strip()


def _number(name: str, value: object, *, minimum: float = 0.0, whole: bool = False) -> float:
    """Check a setting is a finite number (a whole one if ``whole``) of at least ``minimum``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (whole and not float(value).is_integer())
        or value < minimum
    ):
        kind = "a whole number" if whole else "a number"
        raise ConfigurationError(f"{name} must be {kind} of at least {minimum:g}, got {value!r}")
    return float(value)


def _timeout(value: object) -> float | tuple[float, float]:
    if isinstance(value, tuple) and len(value) == 2:
        connect = _number("token_timeout", value[0], minimum=1e-9)
        read = _number("token_timeout", value[1], minimum=1e-9)
        return (connect, read)
    if isinstance(value, tuple):
        raise ConfigurationError(
            f"token_timeout must be seconds or a (connect, read) pair, got {value!r}"
        )
    return _number("token_timeout", value, minimum=1e-9)


class _Flight:
    """Per credential: the lock around fetching, and how the last attempt ended."""

    __slots__ = ("__weakref__", "completed", "last_error", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.completed = 0  # token requests finished, successful or not
        self.last_error: OfficeRNDAuthError | None = None


class _Budget:
    """Per (token URL, client id): when the last token requests were sent."""

    __slots__ = ("__weakref__", "blocked_until", "busy_until", "clock", "lock", "sent")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: collections.deque[float] = collections.deque()
        self.blocked_until = 0.0
        # Until when this budget still constrains anything, on the clock that last used it.
        self.busy_until = 0.0
        self.clock: Clock = system_clock

    def acquire(self, now: float, limit: int | None, window: float, clock: Clock) -> float | None:
        """Record one token request; or return how many seconds until one is allowed."""
        with self.lock:
            while self.sent and self.sent[0] <= now - window:
                self.sent.popleft()
            if now < self.blocked_until:
                return self.blocked_until - now
            if limit is not None and len(self.sent) >= limit:
                return self.sent[0] + window - now
            self.sent.append(now)
            self.busy_until = max(self.busy_until, now + window)
            self.clock = clock
            return None

    def block(self, until: float, clock: Clock) -> None:
        with self.lock:
            self.blocked_until = max(self.blocked_until, until)
            self.busy_until = max(self.busy_until, until)
            self.clock = clock

    def idle(self) -> bool:
        """True when forgetting this budget changes nothing: no send in its window, no block."""
        return self.clock() >= self.busy_until


# Per-credential records live as long as a provider refers to them (weak values), so a service
# that serves many credentials does not grow with every one it ever saw. A budget that still
# counts requests is also held strongly until its window has passed: a provider re-created
# within the minute must find the requests already sent.
_registry_lock = threading.Lock()
_flights: weakref.WeakValueDictionary[str, _Flight] = weakref.WeakValueDictionary()
_budgets: weakref.WeakValueDictionary[tuple[str, str], _Budget] = weakref.WeakValueDictionary()
_busy_budgets: dict[tuple[str, str], _Budget] = {}
_prune_busy_at = 64


def _keep_busy(key: tuple[str, str], budget: _Budget) -> None:
    global _prune_busy_at
    with _registry_lock:
        _busy_budgets[key] = budget
        if len(_busy_budgets) >= _prune_busy_at:
            for stale in [k for k, b in _busy_budgets.items() if b.idle()]:
                del _busy_budgets[stale]
            _prune_busy_at = max(64, 2 * len(_busy_budgets))


def reset() -> None:
    """Forget the process-wide state: the default memory cache's tokens, every credential's
    record of failed attempts, every token budget and server-imposed wait.

    For test suites (the ``officernd_auth`` pytest plugin calls it before every test): tokens
    fetched, failures seen or budget spent in one test then never reach the next. Objects that
    already exist keep working; they start from a clean slate. File and Redis caches are left
    alone (they are shared on purpose).
    """
    DEFAULT_MEMORY_CACHE.clear()
    with _registry_lock:
        flights = list(_flights.values())
        budgets = list(_budgets.values())
    for flight in flights:
        flight.last_error = None
    for budget in budgets:
        with budget.lock:
            budget.sent.clear()
            budget.blocked_until = 0.0
            budget.busy_until = 0.0
    with _registry_lock:
        _busy_budgets.clear()


def registry_sizes() -> dict[str, int]:
    """How many per-credential records the process holds: ``flights`` and ``budgets``.

    For memory measurements and tests; the records themselves stay private.
    """
    with _registry_lock:
        return {"flights": len(_flights), "budgets": len(_budgets)}


def _flight_for(key: str) -> _Flight:
    with _registry_lock:
        flight = _flights.get(key)
        if flight is None:
            flight = _flights[key] = _Flight()
        return flight


def _budget_for(token_url: str, client_id: str) -> _Budget:
    with _registry_lock:
        budget = _budgets.get((token_url, client_id))
        if budget is None:
            budget = _budgets[(token_url, client_id)] = _Budget()
        return budget


class ProviderOptions(TypedDict, total=False):
    """Every option of a :class:`TokenProvider`, declared once.

    ``OfficeRNDSession``, ``OfficeRNDAuth``, ``TokenProvider`` and :func:`resolve_provider` take
    these as keyword arguments under these names; a name not listed here is a ``TypeError``.
    Each is validated where it is stored, in :class:`TokenProvider`.
    """

    token_url: str | None
    api_version: str | None
    leeway: float
    token_cache: TokenCache | str | os.PathLike[str] | None
    clock: Clock
    token_budget: int | None
    budget_window: float
    max_token_retries: int
    backoff: float
    strict_scopes: bool
    token_timeout: float | tuple[float, float]
    token_deadline: float
    verify: bool | str
    cert: str | tuple[str, str] | None
    proxies: Mapping[str, str] | None
    sleep: Callable[[float], None]


#: The documentation of every provider option, in the Google style of an ``Args:`` section.
#: The constructors of the session, the auth adapter and the provider include it in their own
#: docstrings, so ``help()`` shows each option where it is accepted and it is written once.
PROVIDER_OPTIONS_DOC = """\
        token_url: the token endpoint (``OFFICERND_TOKEN_URL``, else OfficeRND's); https, or
            http on a loopback host only.
        api_version: ``"v1"`` or ``"v2"``: check that the scopes fit that API (``None`` skips
            the check).
        leeway: renew the token this many seconds before it expires (default 60; clamped to half
            the token's lifetime).
        token_cache: where tokens are kept: a :class:`~officernd_auth.cache.TokenCache`, a
            directory for a ``FileTokenCache``, or a ``redis://`` URL for a ``RedisTokenCache``.
            Default: ``$OFFICERND_TOKEN_CACHE`` if set, else the process-wide memory cache.
        clock: returns the time as seconds since the epoch (default ``time.time``; tests pass
            a fake clock).
        token_budget: most token requests per ``budget_window`` (default 5, as OfficeRND
            allows); ``None`` for no limit.
        budget_window: the rolling window of the token budget, in seconds (default 60).
        max_token_retries: how often a 5xx or transport failure of the token endpoint is
            retried, with exponential backoff and jitter, inside the budget (default 2).
        backoff: base of that backoff, in seconds (default 0.5).
        strict_scopes: raise :class:`~officernd_auth.errors.ScopeNotGrantedError` when fewer
            scopes are granted than requested (default); ``False`` warns and uses the token.
        token_timeout: ``(connect, read)`` seconds for one token request (default (5, 30));
            the whole answer must arrive within the read timeout, however slowly it drips.
        token_deadline: seconds that one fetch may take in all, retries and backoff included
            (default 60); past it the last failure is raised instead of retrying.
        verify: TLS verification of the token request, as for ``requests`` (default True,
            or ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from the environment).
        cert: a client certificate for the token request (mutual TLS): a path, or a
            ``(cert, key)`` pair.
        proxies: proxies for the token request by scheme, as for ``requests`` (default: the
            ``HTTPS_PROXY`` / ``NO_PROXY`` environment). An ``OfficeRNDSession`` sends its token
            requests through itself instead, with its own ``verify``, ``cert`` and ``proxies``.
        sleep: how to wait between retries (default ``time.sleep``; tests pass a recorder).
"""

OPTION_NAMES: frozenset[str] = ProviderOptions.__optional_keys__


def with_provider_options(obj: _T) -> _T:
    """Put :data:`PROVIDER_OPTIONS_DOC` where a docstring says ``{provider_options}``, indented
    as that line is (Python 3.13 strips docstrings' common indentation when compiling)."""
    if obj.__doc__:
        obj.__doc__ = re.sub(
            r"^( *){provider_options}\n",
            lambda line: textwrap.indent(textwrap.dedent(PROVIDER_OPTIONS_DOC), line[1]),
            obj.__doc__,
            flags=re.M,
        )
    return obj


def wait_bound(timeout: float | tuple[float | None, float | None] | None) -> float:
    """The most seconds a requests-style ``timeout`` lets a call wait for a token: a number as
    it is, a ``(connect, read)`` pair as the sum of its parts, ``None`` (or a pair of them) as
    no bound (``inf``; ``token_deadline`` then bounds the wait)."""
    if isinstance(timeout, tuple):
        parts = [t for t in timeout if t is not None]
        return float(sum(parts)) if parts else math.inf
    return math.inf if timeout is None else float(timeout)


def check_option_names(options: Mapping[str, object], where: str) -> None:
    """Raise ``TypeError`` naming any keyword that is not a provider option."""
    unknown = options.keys() - OPTION_NAMES
    if unknown:
        raise TypeError(
            f"{where} got unexpected keyword argument(s) {', '.join(sorted(unknown))}; the "
            f"provider options are: {', '.join(sorted(OPTION_NAMES))}"
        )


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


@with_provider_options
class TokenProvider:
    """Hands out valid tokens for one credential, fetching only when needed.

    Construction validates every setting and does no network I/O. Use :func:`resolve_provider`
    to fill credentials from the ``OFFICERND_*`` environment.

    Args:
        client_id: the application's client id.
        client_secret: the application's client secret; never shown anywhere.
        scope: the scopes to request, as a space-separated string or a list.
        {provider_options}

    Raises:
        ConfigurationError: a setting is missing or unusable (the message names it).
        ScopeError: a scope is malformed or a near miss of a known one.

    Example:
        >>> provider = TokenProvider("id", "secret", "officernd.api.read")
        >>> provider.current_token() is None   # nothing fetched yet: construction is offline
        True
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scope: str | Iterable[str],
        **options: Unpack[ProviderOptions],
    ) -> None:
        check_option_names(options, "TokenProvider()")
        client_id = _credential("client_id", client_id)
        client_secret = _credential("client_secret", client_secret)
        api_version = options.get("api_version")
        if api_version not in (None, "v1", "v2"):
            raise ConfigurationError(f"api_version must be 'v1' or 'v2', got {api_version!r}")
        scopes = parse_scopes(scope)
        check_scopes(scopes, api_version)
        token_url = normalise_url(
            check_url("token_url", options.get("token_url") or DEFAULT_TOKEN_URL)
        )
        token_budget = options.get("token_budget", OFFICERND_TOKEN_BUDGET)
        if token_budget is not None:
            _number("token_budget", token_budget, minimum=1, whole=True)
        self.client_id = client_id
        self.scopes = scopes
        self.token_url = token_url
        self.api_version = api_version
        self.leeway = check_leeway(options.get("leeway", 60.0))
        self.clock: Clock = options.get("clock", system_clock)
        if not callable(self.clock):
            raise ConfigurationError("clock must be a callable returning seconds since the epoch")
        self.token_budget: int | None = None if token_budget is None else int(token_budget)
        self.budget_window = _number(
            "budget_window", options.get("budget_window", OFFICERND_BUDGET_WINDOW), minimum=1e-9
        )
        self.max_token_retries = int(
            _number("max_token_retries", options.get("max_token_retries", 2), whole=True)
        )
        self.backoff = _number("backoff", options.get("backoff", 0.5))
        self.strict_scopes = bool(options.get("strict_scopes", True))
        self.token_timeout = _timeout(options.get("token_timeout", (5.0, 30.0)))
        self.token_deadline = _number(
            "token_deadline", options.get("token_deadline", 60.0), minimum=1e-9
        )
        self.verify = options.get("verify", True)
        if not isinstance(self.verify, (bool, str)):
            raise ConfigurationError(
                f"verify must be True, False or the path of a CA bundle, got {self.verify!r}"
            )
        self.cert = options.get("cert")
        if self.cert is not None and not isinstance(self.cert, (str, tuple)):
            raise ConfigurationError(
                f"cert must be a path or a (cert, key) pair of paths, got {self.cert!r}"
            )
        proxies = options.get("proxies")
        if proxies is not None and not isinstance(proxies, Mapping):
            raise ConfigurationError(
                f"proxies must map schemes to proxy URLs, e.g. {{'https': ...}}, got {proxies!r}"
            )
        self.proxies: dict[str, str] = dict(proxies or {})
        self.sleep: Callable[[float], None] = options.get("sleep", time.sleep)
        token_cache = resolve_token_cache(
            options.get("token_cache"), clock=self.clock, leeway=self.leeway
        )
        if token_cache is not None and not isinstance(token_cache, TokenCache):
            raise ConfigurationError(
                "token_cache must implement TokenCache (get, set, delete, lock, discard): "
                "subclass officernd_auth.cache.BaseTokenCache to get lock and discard for free"
            )
        self.token_cache: TokenCache = (
            token_cache if token_cache is not None else DEFAULT_MEMORY_CACHE
        )
        #: How many token requests this provider sent over the network.
        self.token_requests = 0
        self.key = cache_key(token_url, client_id, client_secret, scopes)
        self._renew_at: tuple[Token | None, float] = (None, 0.0)
        #: The one place that talks to the token endpoint for this provider.
        self.client = TokenClient(
            token_url,
            client_id,
            client_secret,
            timeout=self.token_timeout,
            transport=PlainTransport(self.verify, self.cert, self.proxies),
        )
        self._listeners: list[Callable[[Token], None]] = []
        self._flight = _flight_for(self.key)
        self._budget = _budget_for(token_url, client_id)

    def __repr__(self) -> str:
        return (
            f"<TokenProvider {self.token_url} client_id={mask_client_id(self.client_id)!r} "
            f"scope={format_scopes(self.scopes)!r}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_flight"], state["_budget"]
        state["_listeners"] = []  # their owners re-register after unpickling
        if state["token_cache"] is DEFAULT_MEMORY_CACHE:
            state["token_cache"] = None  # the unpickling process's own default cache
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["token_cache"] is None:
            state["token_cache"] = DEFAULT_MEMORY_CACHE
        self.__dict__.update(state)
        self._flight = _flight_for(self.key)
        self._budget = _budget_for(self.token_url, self.client_id)

    # -- wiring -------------------------------------------------------------------------------

    def use_transport(self, transport: Transport) -> None:
        """Send token requests over ``transport`` from now on (e.g. the user's session)."""
        self.client.transport = transport

    def add_listener(self, listener: Callable[[Token], None]) -> None:
        """Call ``listener(token)`` after every token this provider fetches."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Token], None]) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def close(self) -> None:
        """Close the connections used for token requests."""
        self.client.transport.close()

    # -- reading ------------------------------------------------------------------------------

    def current_token(self) -> Token | None:
        """The cached token, valid or not, without any network I/O."""
        return self.token_cache.get(self.key)

    def _usable(self, token: Token | None, now: float) -> bool:
        return token is not None and not token.is_expired(now, self.leeway)

    def status(self) -> TokenStatus:
        """Whether the cached token is usable, by the same rule :meth:`get_token` applies."""
        token = self.token_cache.get(self.key)
        if token is None:
            return TokenStatus("none", 0.0)
        now = self.clock()
        left = token.expires_in(now)
        if token.is_expired(now):
            return TokenStatus("expired", left)
        if token.is_expired(now, self.leeway):
            return TokenStatus("renewing", left)
        return TokenStatus("valid", left)

    def has_valid_token(self) -> bool:
        """True when a cached token will be used as it is (not expired, not within the leeway)."""
        return self.status().state == "valid"

    def seed(self, token: Token | Mapping[str, Any]) -> Token:
        """Store a token obtained elsewhere, as if this provider had fetched it.

        Args:
            token: a :class:`~officernd_auth.token.Token`, or a token dict as
                ``OAuth2Session.token`` holds it (``access_token`` and ``expires_at`` or
                ``expires_in``; ``scope`` optional).

        Raises:
            ConfigurationError: the dict is not a usable token.
        """
        if not isinstance(token, Token):
            token = Token.from_dict(token, self.clock(), default_scopes=self.scopes)
        self.token_cache.set(self.key, token)
        return token

    def get_token(self, timeout: float | tuple[float, float] | None = None) -> Token:
        """Return a valid token, fetching one only when the cached one is missing or expiring.

        Args:
            timeout: the most seconds to wait for a token, including waiting for another
                thread's token request (``token_deadline`` when ``None``); a requests-style
                ``(connect, read)`` pair counts as their sum.

        Raises:
            TokenRequestError: no token could be obtained (see :mod:`officernd_auth.errors`).
            ScopeNotGrantedError: the server granted fewer scopes than requested.
        """
        return self.fresh_token() or self._get_token_locked(timeout)

    def fresh_token(self) -> Token | None:
        """The cached token if it will be used as it is (before its renewal time), else
        ``None``: never a lock, never a token request. The hot path of :meth:`get_token`."""
        token = self.token_cache.get(self.key)
        if token is not None:
            # No lock, no allocation; the renewal time is computed once a token.
            renew = self._renew_at
            if renew[0] is token:
                if self.clock() < renew[1]:
                    return token
            elif not token.is_expired(self.clock(), self.leeway):
                self._renew_at = (token, token.expires_at - token.effective_leeway(self.leeway))
                return token
        return None

    def _get_token_locked(self, timeout: float | tuple[float, float] | None) -> Token:
        flight = self._flight
        completed_before = flight.completed
        wait = min(wait_bound(timeout), self.token_deadline)
        deadline = time.monotonic() + wait
        if not flight.lock.acquire(timeout=wait):
            raise TokenEndpointError(
                f"no token within {wait:g} s: another thread's token request for client "
                f"{mask_client_id(self.client_id)!r} is still running (raise the call's timeout or "
                "token_deadline)"
            )
        try:
            with self._cross_process_lock():
                token = self.token_cache.get(self.key)
                if self._usable(token, self.clock()):
                    assert token is not None
                    return token
                if flight.completed != completed_before and flight.last_error is not None:
                    # Another thread tried while we waited and failed: share its answer rather
                    # than spend budget on the same failure again.
                    raise copy.copy(flight.last_error)
                return self._fetch_locked(deadline)
        finally:
            flight.lock.release()

    def fetch_token(self, **overrides: Any) -> Token:
        """Fetch a new token from the network now, whatever the cache holds (budget applies).

        Args:
            **overrides: for this fetch only: ``timeout``, ``headers``, ``verify``, ``cert``,
                ``proxies`` (as for ``requests``).
        """
        unknown = overrides.keys() - {"timeout", "headers", "verify", "cert", "proxies"}
        if unknown:
            raise TypeError(f"fetch_token() got unexpected keyword(s) {', '.join(sorted(unknown))}")
        with self._flight.lock, self._cross_process_lock():
            return self._fetch_locked(time.monotonic() + self.token_deadline, overrides)

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
                # discard, not delete: spares a newer token another host stored meanwhile.
                self.token_cache.discard(self.key, current)

    # -- fetching -----------------------------------------------------------------------------

    def _cross_process_lock(self) -> AbstractContextManager[None]:
        """The cache's own lock: across processes for the file and Redis caches."""
        return self.token_cache.lock(self.key)

    def _fetch_locked(self, deadline: float, overrides: Mapping[str, Any] | None = None) -> Token:
        # ``deadline`` is real (monotonic) time, not the injected clock: it bounds how long a
        # caller really waits.
        flight = self._flight
        attempt = 0
        while True:
            wait = self._budget.acquire(
                self.clock(), self.token_budget, self.budget_window, self.clock
            )
            if wait is None:
                _keep_busy((self.token_url, self.client_id), self._budget)
            if wait is not None:
                if attempt > 0 and flight.last_error is not None:
                    # Out of budget mid-retry: the failure the retries were for is the answer,
                    # and it is the answer for the threads waiting on this flight too.
                    raise self._record(flight.last_error)
                raise self._budget_error(wait)
            self.token_requests += 1
            try:
                token = self.client.fetch_token(
                    self.scopes, self.clock(), deadline=deadline, overrides=overrides
                )
            except RateLimitedError as exc:
                retry_after = exc.retry_after if exc.retry_after is not None else self.budget_window
                self._budget.block(self.clock() + retry_after, self.clock)
                _keep_busy((self.token_url, self.client_id), self._budget)
                raise self._record(exc) from None
            except TokenEndpointError as exc:
                retryable = exc.status_code is None or exc.status_code >= 500
                delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.0)
                in_time = time.monotonic() + delay < deadline
                if retryable and attempt < self.max_token_retries and in_time:
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
            for listener in list(self._listeners):
                listener(token)
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
                f"the token budget for client {mask_client_id(self.client_id)!r} is spent "
                f"({self.token_budget} token requests per {self.budget_window:.0f} s, as "
                "OfficeRND allows)"
            )
        return RateLimitedError(
            f"not sent: {why}; retry in {wait:.0f} s. Share one session or auth object per "
            "credential; across processes share a token cache: set OFFICERND_TOKEN_CACHE to a "
            "directory (FileTokenCache) or a redis:// URL (RedisTokenCache)."
            f"{because}",
            retry_after=wait,
        )
