"""The single owner of "is there a valid token": freshness, single flight, the fetch loop.

Every front end asks :meth:`~officernd_auth.provider.TokenProvider.get_token` (or its async
twin) and never decides on its own whether to fetch, so they behave the same by construction.
The decisions it leans on each live in one module: the settings
(:mod:`officernd_auth.core.settings`), how long a call may wait
(:mod:`officernd_auth.values.deadline`), whether a request may be sent or retried
(:mod:`officernd_auth.core.policy`), single flight (``officernd_auth.core.flight``) and the fetch
loop (:mod:`officernd_auth.core.fetching`). Freshness is decided in
:mod:`officernd_auth.core.freshness` only: caches are stores.

This module imports no HTTP library. The token requests go through a
:class:`~officernd_auth.core.client.TokenClient` over the sender an HTTP adapter attached
(:meth:`~officernd_auth.provider.TokenProvider.use_transport`), or through a
:class:`~officernd_auth.token.TokenFetcher` of the caller's own.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..cache import DEFAULT_MEMORY_CACHE, TokenCache, cache_key, resolve_token_cache
from ..cache.base import application_key, lock_takes_timeout
from ..values.deadline import Deadline, wait_bound
from ..values.errors import (
    ConfigurationError,
    ScopeNotGrantedError,
    ScopeNotGrantedWarning,
)
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.token import Token, TokenFetcher, TokenStatus
from .exchange import Sender
from .fetching import Fetching, token_client
from .flight import flight_for, registry_sizes, reset, waited_out  # noqa: F401  (registry_sizes: benchmarks)
from .policy import Budget, BudgetStore, RetryPolicy, SharedBudget, budget_for
from .scopes import format_scopes
from .settings import (
    ProviderOptions,
    Settings,
    check_option_names,
    read_only_setting,
    resolve_settings,
    with_provider_options,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "TokenFetcher",
    "TokenProvider",
    "TokenStatus",
    "reset",
    "resolve_provider",
    "wait_bound",
]

logger = logging.getLogger("officernd_auth.provider")

#: Seconds between renewal attempts while the current token is still good (a failed renewal
#: inside the leeway window is tried again at most this often, not on every call).
RENEWAL_RETRY = 1.0


def resolve_provider(
    client_id: str | None = None,
    client_secret: str | None = None,
    scope: str | Iterable[str] | None = None,
    *,
    provider: TokenProvider | None = None,
    where: str = "resolve_provider()",
    missing_too: Iterable[str] = (),
    **options: Unpack[ProviderOptions],
) -> TokenProvider:
    """Make a provider from arguments, falling back to the ``OFFICERND_*`` environment.

    With ``provider=``, that provider is returned as it is, and passing credentials or options
    beside it is an error rather than silently ignored. ``where`` and ``missing_too`` are as
    for :func:`~officernd_auth.core.settings.resolve_settings`.

    Raises:
        ConfigurationError: every missing or unusable setting, in one message; or settings
            given beside ``provider=``.
    """
    secret = Secret.wrap(client_secret)  # no frame holds the secret as text
    del client_secret
    if provider is None:
        settings = resolve_settings(
            client_id, secret, scope, where=where, missing_too=missing_too, **options
        )
        return TokenProvider.from_settings(settings)
    check_option_names(options, where)
    if not isinstance(provider, TokenProvider):
        raise ConfigurationError(f"provider must be a TokenProvider, got {type(provider).__name__}")
    credential = {"client_id": client_id, "client_secret": secret, "scope": scope}
    given = [name for name, value in credential.items() if value is not None] + sorted(options)
    if given:
        raise ConfigurationError(
            f"pass either provider= or its settings, not both: {', '.join(given)} would be "
            "ignored; set them on the TokenProvider instead"
        )
    return provider


@with_provider_options
class TokenProvider(Fetching):
    """Hands out valid tokens for one credential, fetching only when needed.

    Construction validates every setting and does no network I/O. It reads no credential from
    the environment: use :func:`resolve_provider` for that.

    Args:
        client_id: the application's client id.
        client_secret: the application's client secret; never shown anywhere.
        scope: the scopes to request, as a space-separated string or a list.
        {provider_options}

    Raises:
        ConfigurationError: every missing or unusable setting, in one message.
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
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        settings = resolve_settings(
            client_id, secret, scope, environ={}, where="TokenProvider()", **options
        )
        self._configure(settings, None)

    @classmethod
    def from_settings(
        cls, settings: Settings, fetcher: TokenFetcher | None = None
    ) -> TokenProvider:
        """A provider for ``settings``, fetching through ``fetcher`` (default: requests')."""
        provider = cls.__new__(cls)
        cls._configure(provider, settings, fetcher)
        return provider

    __slots__ = (
        "__weakref__", "_fetcher", "_listeners", "_sender", "clock", "flight", "key", "leeway",
        "settings", "token_requests",
    )  # fmt: skip

    # Read from the settings (kept once, not copied: memory per tenant, benchmarks table 5c).
    client_id: str = read_only_setting("client_id")
    scopes: tuple[str, ...] = read_only_setting("scopes")
    token_url: str = read_only_setting("token_url")
    api_version: str | None = read_only_setting("api_version")
    token_budget: int | None = read_only_setting("token_budget")
    budget_window: float = read_only_setting("budget_window")
    max_token_retries: int = read_only_setting("max_token_retries")
    backoff: float = read_only_setting("backoff")
    strict_scopes: bool = read_only_setting("strict_scopes")
    token_timeout: float | tuple[float, float] = read_only_setting("token_timeout")
    token_deadline: float = read_only_setting("token_deadline")
    verify: bool | str = read_only_setting("verify")
    cert: str | tuple[str, str] | None = read_only_setting("cert")
    proxies: Mapping[str, str] = read_only_setting("proxies")
    sleep: Callable[[float], None] = read_only_setting("sleep")

    def _configure(self, settings: Settings, fetcher: TokenFetcher | None) -> None:
        #: The validated settings this provider was made from.
        self.settings = settings
        # Plain attributes, not read through the settings: the hot path (fresh_token) reads
        # them on every request.
        self.clock = settings.clock
        #: Seconds before expiry at which a token is renewed (clamped to half its lifetime).
        self.leeway: float = settings.leeway
        cache = resolve_token_cache(settings.token_cache)
        if cache is not None and not isinstance(cache, TokenCache):
            raise ConfigurationError(
                "token_cache must implement TokenCache (get, set, delete, lock, discard): "
                "subclass officernd_auth.cache.BaseTokenCache to get lock and discard for free"
            )
        #: How many token requests this provider sent over the network.
        self.token_requests = 0
        self.key = cache_key(self.token_url, self.client_id, settings.client_secret, self.scopes)
        self._fetcher = fetcher
        # The adapter's Sender its token requests go over (see use_transport).
        self._sender: Any = None
        # By the listener itself (equal bound methods are one listener), removed in O(1)
        # (sessions sharing a provider come and go); made when needed.
        self._listeners: dict[object, Callable[[Token], None]] | None = None
        self.flight = flight_for(DEFAULT_MEMORY_CACHE if cache is None else cache, self.key)

    @property
    def policy(self) -> RetryPolicy:
        """Whether a token request may be sent or retried (shared by equal settings)."""
        return RetryPolicy.from_settings(self.settings)

    def _budget_for(self, server: str, deadline: Deadline | None = None) -> Budget | SharedBudget:
        """The application's budget: the shared cache's if it keeps budgets (its lock bounded
        by ``deadline``), else this process's. Looked up per fetch, not held (policy module)."""
        # Keyed by the endpoint's origin, not its full URL: every spelling of one server's path
        # (a trailing dot, a query, doubled or escaped slashes) shares one budget.
        local = budget_for(server, self.client_id)
        if isinstance(self.token_cache, BudgetStore):
            application = application_key(server, self.client_id)
            return SharedBudget(self.token_cache, application, local, deadline)
        return local

    def __repr__(self) -> str:
        return (
            f"<TokenProvider {self.token_url} client_id={mask_client_id(self.client_id)!r} "
            f"scope={format_scopes(self.scopes)!r}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in _STATE} | getattr(self, "__dict__", {})
        state["_listeners"] = None  # their owners re-register after unpickling
        if state["_sender"] is not None:
            state["_sender"] = state["_sender"].portable()
        if state["token_cache"] is DEFAULT_MEMORY_CACHE:
            state["token_cache"] = None  # the unpickling process's own default cache
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        cache = state.pop("token_cache")  # kept by the flight
        setter = object.__setattr__  # a subclass may refuse setting attributes itself
        for name, value in state.items():
            setter(self, name, value)
        self.flight = flight_for(DEFAULT_MEMORY_CACHE if cache is None else cache, self.key)

    # -- wiring -------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """This provider's token fetcher (the one it was given, or else a
        :class:`~officernd_auth.core.client.TokenClient` over its adapter (kept once asked for;
        otherwise made per token request, its sender being shared)."""
        if self._fetcher is None:
            self._fetcher = token_client(self.settings, self._sender)
        return self._fetcher

    def use_transport(self, transport: Any) -> None:
        """Send token requests over ``transport`` (an HTTP adapter's
        :class:`~officernd_auth.core.exchange.Sender`) from now on."""
        self._sender = transport
        if isinstance(getattr(self._fetcher, "transport", None), Sender):  # a TokenClient
            self._fetcher.transport = transport

    def add_listener(self, listener: Callable[[Token], None]) -> None:
        """Call ``listener(token)`` after every token this provider fetches (once, however
        often it is added)."""
        if self._listeners is None:
            self._listeners = {}
        self._listeners[_listener_key(listener)] = listener

    def remove_listener(self, listener: Callable[[Token], None]) -> None:
        """Stop calling ``listener`` (an equal one: ``remove_listener(obj.method)`` removes
        what ``add_listener(obj.method)`` added, though each reads a new bound method)."""
        if self._listeners is not None:
            self._listeners.pop(_listener_key(listener), None)

    def close(self) -> None:
        """Close the connections used for token requests."""
        sender = getattr(self._fetcher, "transport", None) or self._sender
        if sender is not None:
            sender.close()

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
        self.flight.hold(token)
        return token

    # -- getting a token ----------------------------------------------------------------------

    def get_token(
        self,
        timeout: float | tuple[float | None, float | None] | None = None,
        *,
        deadline: Deadline | None = None,
    ) -> Token:
        """Return a valid token, fetching one only when the cached one is missing or expiring.

        Args:
            timeout: the most seconds to wait for a token, including waiting for another
                thread's token request (``token_deadline`` when ``None``); a requests-style
                ``(connect, read)`` pair counts as their sum.
            deadline: the caller's :class:`~officernd_auth.values.deadline.Deadline`, instead of
                ``timeout``.

        Raises:
            TokenRequestError: no token could be obtained (see :mod:`officernd_auth.errors`).
            ScopeNotGrantedError: the server granted fewer scopes than requested.
        """
        token = self.fresh_token()
        if token is not None:
            return token
        seen = self.flight.changes
        token = self.token_cache.get(self.key)  # another provider or process may have one
        if self._usable(token):
            assert token is not None
            self.flight.adopt(token, seen)
            return self._from_cache(token, waited=False)
        if deadline is None:
            deadline = Deadline.for_call(timeout, self.token_deadline)
        return self._get_token_locked(deadline, self.held_in_renewal())

    def _get_token_locked(self, deadline: Deadline, current: Token | None = None) -> Token:
        """Fetch under the locks, unless another thread already did. With a ``current`` token
        (in its renewal window, still valid), never wait: it is the answer while another thread
        renews, and when the renewal fails."""
        from ..values.token_errors import TokenRequestError  # oauthlib's: loaded when needed

        completed = self.flight.completed
        started = time.monotonic()
        with self._flight_lock(deadline, wait=current is None) as holding:
            if not holding:
                assert current is not None
                return current
            self._waited("flight", started)
            # Re-checked before the cache's own lock too: threads that waited on this flight
            # take the token it stored without queueing on a file or Redis lock in turn.
            found = self._settled(deadline, current, completed, first=True)
            if found is not None:
                return found
            started = time.monotonic()
            with self._cache_lock(deadline):
                self._waited("cache", started)
                found = self._settled(deadline, current, completed, first=False)
                if found is not None:
                    return found
                try:
                    return self._fetch_locked(deadline, renewing=current is not None)
                except TokenRequestError as exc:
                    if current is None:
                        raise
                    return self._keep_current(exc, current)

    def _settled(
        self, deadline: Deadline, current: Token | None, completed: int, *, first: bool
    ) -> Token | None:
        """Under the flight lock (``first``) or the cache's too: the answer that needs no token
        request, if there is one. ``completed`` is the flight's count before the wait."""
        flight = self.flight
        token = self.token_cache.get(self.key)
        if self._usable(token):
            assert token is not None
            flight.hold(token)
            return self._from_cache(token, waited=True)
        if first:
            just_failed = time.monotonic() - flight.failed_at < RENEWAL_RETRY
            if current is not None and flight.last_error is not None and just_failed:
                return current  # a renewal just failed: not one attempt (and log) per call
            return None
        error = flight.last_error if flight.completed != completed else None
        if (error is not None or deadline.expired()) and current is not None:
            return current
        if error is not None:
            # Another thread tried while we waited and failed: share its answer rather than
            # spend budget on the same failure again.
            raise copy.copy(error)
        if deadline.expired():  # the wait for another process's lock took all the time
            raise waited_out(deadline, "another process's token request")
        return None

    def fetch_token(self, **overrides: Any) -> Token:
        """Fetch a new token from the network now, whatever the cache holds (budget applies).

        Args:
            **overrides: for this fetch only: ``timeout``, ``headers``, ``verify``, ``cert``,
                ``proxies`` (as for ``requests``). ``timeout`` also bounds the wait for another
                thread's token request.
        """
        unknown = overrides.keys() - {"timeout", "headers", "verify", "cert", "proxies"}
        if unknown:
            raise TypeError(f"fetch_token() got unexpected keyword(s) {', '.join(sorted(unknown))}")
        deadline = Deadline.for_call(overrides.get("timeout"), self.token_deadline)
        with self._flight_lock(deadline), self._cache_lock(deadline):
            return self._fetch_locked(deadline, overrides)

    def invalidate(
        self,
        authorization: str | Token | None = None,
        *,
        timeout: float | tuple[float | None, float | None] | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """Forget the cached token, but only if it is still the one given.

        Args:
            authorization: the token, or the ``Authorization`` header value that was sent. When
                the cache already holds a newer token (another thread renewed it), nothing is
                forgotten, so N threads that all saw a 401 cause one renewal, not N.
            timeout: the most seconds to wait for another thread's token request
                (``token_deadline`` when ``None``).
            deadline: the caller's :class:`~officernd_auth.values.deadline.Deadline`, instead.

        Raises:
            TokenEndpointError: another thread's token request outlasted the wait.
        """
        if isinstance(authorization, Token):
            authorization = authorization.authorization
        if deadline is None:
            deadline = Deadline.for_call(timeout, self.token_deadline)
        with self._flight_lock(deadline):
            self._forget(authorization)

    def _forget(self, authorization: str | None) -> None:
        """Under the flight lock: forget the held and cached token if it is ``authorization``."""
        held = self.flight.held
        if held is not None and authorization in (None, held.authorization):
            self.flight.forget()
        current = self.token_cache.get(self.key)
        if current is not None and authorization in (None, current.authorization):
            # discard, not delete: spares a newer token another host stored meanwhile.
            self.token_cache.discard(self.key, current)

    # -- locks, bounded by the call's deadline ------------------------------------------------

    def _flight_lock(self, deadline: Deadline, wait: bool = True) -> AbstractContextManager[bool]:
        whose = f"client {mask_client_id(self.client_id)!r}"
        return self.flight.locked(deadline, whose, wait=wait)

    def _cache_lock(self, deadline: Deadline) -> AbstractContextManager[None]:
        """The cache's own lock: across processes for the file and Redis caches."""
        timeout = {"timeout": deadline.remaining()} if lock_takes_timeout(self.token_cache) else {}
        return self.token_cache.lock(self.key, **timeout)

    # -- fetching (the loop itself: officernd_auth.core.fetching) ----------------------------

    def _accept(self, token: Token) -> Token:
        """Check the grant, store the token, tell the listeners."""
        missing = frozenset(self.scopes) - token.scopes
        if missing:
            text = (
                f"the token was granted without {', '.join(sorted(missing))}: grant "
                "them under Settings -> Developer Tools -> Applications -> Configure, "
                "or request fewer scopes"
            )
            if self.strict_scopes:
                raise self.flight.record(ScopeNotGrantedError(text, missing=missing))
            warnings.warn(text + "; using the narrower token", ScopeNotGrantedWarning, 3)
        self.token_cache.set(self.key, token)
        self.flight.succeeded(token)
        for listener in list((self._listeners or {}).values()):
            listener(token)
        shown = mask_client_id(self.client_id)
        logger.debug("got a token for client %s, valid for %.0f s", shown, token.lifetime)
        return token


#: What a provider pickles (its flight belongs to the process: found again when unpickled).
_STATE = (
    "_fetcher",
    "_sender",
    "clock",
    "key",
    "leeway",
    "settings",
    "token_cache",
    "token_requests",
)


def _listener_key(listener: Callable[[Token], None]) -> object:
    try:
        hash(listener)
    except TypeError:  # a callable object that cannot be hashed: itself, by identity
        return id(listener)
    return listener
