"""The ``OAuth2Session`` surface for client credentials.

:class:`ClientCredentialsSession` keeps requests-oauthlib's public surface working the way its
users expect (``token`` as a dict, ``fetch_token()``, ``token_updater``, compliance hooks) on top
of a :class:`~officernd_auth.provider.TokenProvider`, and refuses the parts that belong to other
OAuth flows with an error that says why, rather than ignoring them.
:class:`~officernd_auth.requests_adapter.session.OfficeRNDSession` builds on it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from ..core.provider import TokenProvider
from ..core.scopes import parse_scopes
from ..values.errors import ConfigurationError
from ..values.token import Token
from ..values.urls import normalise_url

__all__ = [
    "ClientCredentialsSession",
    "SessionCall",
    "refuse_other_flows",
    "token_listener",
]


class SessionCall(NamedTuple):
    """The arguments of ``requests.Session.request`` after ``method`` and ``url``, in its
    positional order: what a retried or re-sent call is made with."""

    params: Any
    data: Any
    headers: Any
    cookies: Any
    files: Any
    auth: Any
    timeout: Any
    allow_redirects: bool
    proxies: Any
    hooks: Any
    stream: Any
    verify: Any
    cert: Any
    json: Any


class ClientCredentialsSession(OAuth2Session):
    """``OAuth2Session`` for the client-credentials grant, its token owned by a provider.

    Subclasses set ``self._provider`` (and ``self._backend_client``) before calling
    ``OAuth2Session.__init__``.
    """

    _provider: TokenProvider
    _backend_client: BackendApplicationClient

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        cls.requests_class = next(
            klass for klass in mro[mro.index(OAuth2Session) + 1 :] if "request" in vars(klass)
        )

    #: The class whose ``request`` this session's calls go through: the first after
    #: ``OAuth2Session`` in the MRO that has one (``requests.Session``, or a mixin a subclass
    #: puts there, such as requests-cache's ``CacheMixin``), as ``super()`` would find it but
    #: found once, not on every call; ``requests.Session`` is never looked up on the requests
    #: module, which requests-cache's ``install_cache`` patches.
    requests_class: type[requests.Session] = requests.Session

    def send_call(self, method: str, url: str, call: SessionCall) -> requests.Response:
        """Make ``call`` through :attr:`requests_class`'s ``request`` (never
        ``OAuth2Session.request``, which would add the token itself and log it at DEBUG)."""
        response: requests.Response = self.requests_class.request(self, method, url, *call)
        return response

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` that owns this session's token."""
        provider: TokenProvider = self._provider
        return provider

    @property
    def oauth_client(self) -> BackendApplicationClient:
        """The oauthlib ``BackendApplicationClient`` this session is built on."""
        client: BackendApplicationClient = self._backend_client
        return client

    @property
    def scope(self) -> list[str]:
        """The requested scopes (read-only here; they are the provider's)."""
        return list(self.provider.scopes)

    @scope.setter
    def scope(self, value: str | Iterable[str] | None) -> None:
        # OAuth2Session.__init__ assigns the scope it was given (None here); anything else would
        # be silently ignored, so it is refused.
        if value is not None and frozenset(parse_scopes(value)) != frozenset(self.provider.scopes):
            raise ConfigurationError(
                "a session's scopes are fixed when it is made: create a new OfficeRNDSession "
                "with scope=..."
            )

    @property
    def token(self) -> dict[str, Any]:
        """The current token as a dict (``access_token``, ``expires_in``, ...); ``{}`` if none."""
        # Read before OAuth2Session.__init__ has finished (it assigns a token of its own).
        provider: TokenProvider | None = self.__dict__.get("_provider")
        token = provider.current_token() if provider else None
        return token.to_dict(provider.clock()) if provider and token else {}

    @token.setter
    def token(self, value: Mapping[str, Any] | None) -> None:
        # A dict seeds the cache with a known token; {} or None forgets the cached one (but not
        # the {} that OAuth2Session.__init__ assigns before the session is ready).
        if value:
            self.provider.seed(value)
        elif self.__dict__.get("_ready"):
            self.provider.invalidate()

    @token.deleter
    def token(self) -> None:
        self.provider.invalidate()

    @property
    def access_token(self) -> str | None:
        """The current access token string, or ``None`` when none is cached."""
        token = self.provider.current_token()
        return token.access_token if token else None

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.token = {"access_token": value}

    @access_token.deleter
    def access_token(self) -> None:
        self.provider.invalidate()

    @property
    def client_id(self) -> str:
        """The application's client id (fixed, as it is part of the token's identity)."""
        return self.provider.client_id

    @client_id.setter
    def client_id(self, value: str) -> None:
        if value != self.provider.client_id:
            raise ConfigurationError(
                "client_id cannot be changed on a session: create a new OfficeRNDSession for "
                "another application"
            )

    @client_id.deleter
    def client_id(self) -> None:
        raise ConfigurationError("client_id cannot be removed from a session")

    def authorization_url(self, url: str, state: str | None = None, **kwargs: Any) -> Any:
        """Not for client credentials: there is no user to send to an authorization page.

        Raises:
            ConfigurationError: always, saying so.
        """
        raise ConfigurationError(
            "authorization_url() belongs to the authorization-code flow; OfficeRND API "
            "applications use client credentials: call the API, tokens come by themselves"
        )

    def token_from_fragment(self, authorization_response: str) -> Any:
        """Not for client credentials (implicit flow).

        Raises :class:`~officernd_auth.errors.ConfigurationError`."""
        raise ConfigurationError(
            "token_from_fragment() belongs to the implicit flow; OfficeRND API applications "
            "use client credentials"
        )

    def new_state(self) -> Any:
        """Not for client credentials (no redirect, no state). Raises ``ConfigurationError``."""
        raise ConfigurationError("client credentials have no state parameter")

    def register_compliance_hook(self, hook_type: str, hook: Callable[..., Any]) -> None:
        """Register a requests-oauthlib compliance hook.

        ``access_token_request`` (``(url, headers, body) -> (url, headers, body)``) and
        ``access_token_response`` (``response -> response``) run on every token request;
        ``protected_request`` (``(url, headers, data) -> (url, headers, data)``) on every call
        that carries the token. Client credentials have no refresh token, so the
        ``refresh_token_*`` hooks would never run and are refused.

        Raises:
            ConfigurationError: a ``refresh_token_*`` hook.
            ValueError: an unknown hook type (as requests-oauthlib).
        """
        if hook_type.startswith("refresh_token_"):
            raise ConfigurationError(
                f"{hook_type} hooks would never run: client credentials have no refresh token. "
                "Register access_token_request / access_token_response instead; they run on "
                "every token request, renewals included"
            )
        super().register_compliance_hook(hook_type, hook)  # type: ignore[call-overload]

    def get_access_token(self) -> str:
        """The current bearer token string, fetching one first if none is valid.

        Unlike :attr:`access_token` (only a token already cached, or ``None``), this always
        returns a usable token; the budget and single flight apply as for any request.
        """
        return self.provider.get_token().access_token

    @property
    def authorized(self) -> bool:
        """True when a token is cached and will be used as it is (not due for renewal)."""
        return self.provider.has_valid_token()

    def fetch_token(  # type: ignore[override]
        self,
        token_url: str | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        proxies: Mapping[str, str] | None = None,
        cert: str | tuple[str, str] | None = None,
        include_client_id: bool | None = None,
        method: str = "POST",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Fetch a new token now, whatever the cache holds, and return it as a dict.

        Needs no arguments: the session knows its endpoint and credentials. ``timeout``,
        ``headers``, ``verify``, ``proxies`` and ``cert`` apply to this token request, as in
        requests-oauthlib. The token budget still applies; ``token_updater`` is called.

        Raises:
            ConfigurationError: an argument of another OAuth flow (``code``, ``username``,
                ``auth``...), another ``token_url`` or changed credentials; the message says why.
        """
        if (
            token_url is not None
            and normalise_url(token_url.rstrip("/")) != self.provider.token_url
        ):
            raise ConfigurationError(
                "this session fetches from its own token_url; create another session for "
                "another endpoint"
            )
        _refuse_fetch_arguments(kwargs, include_client_id, method)
        overrides = {
            "timeout": timeout,
            "headers": dict(headers) if headers else None,
            "verify": verify,
            "proxies": dict(proxies) if proxies else None,
            "cert": cert,
        }
        token: Token = self.provider.fetch_token(
            **{k: v for k, v in overrides.items() if v is not None}
        )
        return token.to_dict(self.provider.clock())

    def refresh_token(  # type: ignore[override]
        self,
        token_url: str | None = None,
        refresh_token: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Client credentials have no refresh token: this fetches a new token instead.

        Takes the same transport keywords as :meth:`fetch_token`; a ``refresh_token`` value is
        refused (there is none to send).
        """
        if refresh_token is not None:
            raise ConfigurationError(
                "client credentials have no refresh token; call refresh_token() without one "
                "(it fetches a new token) or fetch_token()"
            )
        return self.fetch_token(token_url, **kwargs)


def token_listener(session: ClientCredentialsSession) -> Callable[[Token], None]:
    """Calls the session's ``token_updater`` with each token it fetches (holding it weakly).

    The provider owns the listener; the listener refers to the session only through a weak
    reference whose callback unregisters it as soon as the session is gone, so sessions made
    per job on a shared provider pile up no listeners. (A ``weakref.finalize`` would not do:
    its arguments stay reachable from the process-wide finalizer registry, and the provider
    reaches the session through its token transport, so the session would never be freed.)
    """
    provider = session.provider

    def listener(token: Token) -> None:
        owner = reference()
        if owner is None:
            return
        updater = getattr(owner, "token_updater", None)
        if updater is not None:
            updater(token.to_dict(provider.clock()))

    def forget(_: object) -> None:
        provider.remove_listener(listener)

    # provider -> listener -> reference -> forget -> provider: a cycle with no outside root.
    reference = weakref.ref(session, forget)
    return listener


#: OAuth2Session keywords that belong to other OAuth flows, and why they are refused.
_OTHER_FLOWS = {
    "redirect_uri": "it belongs to the authorization-code flow",
    "state": "it belongs to the authorization-code flow",
    "pkce": "it belongs to the authorization-code flow",
    "auto_refresh_url": "tokens renew by themselves from token_url (there is no refresh token)",
    "auto_refresh_kwargs": "tokens renew by themselves (there is no refresh token)",
}


def refuse_other_flows(options: Mapping[str, Any]) -> None:
    for name, why in _OTHER_FLOWS.items():
        if name in options:
            raise ConfigurationError(
                f"OfficeRNDSession does not take {name}=: {why}. OfficeRND API applications "
                "use client credentials only"
            )


_FETCH_OTHER_FLOWS = {
    "code": "an authorization code",
    "authorization_response": "an authorization response",
    "username": "a password grant",
    "password": "a password grant",
    "auth": "HTTP Basic client authentication (OfficeRND reads the credentials from the body)",
    "client_id": "another client id (the session's is fixed)",
    "client_secret": "another secret (the session's is fixed)",
    "force_querystring": "credentials in the query string",
}


def _refuse_fetch_arguments(
    kwargs: Mapping[str, Any], include_client_id: bool | None, method: str
) -> None:
    for name, value in kwargs.items():
        if name == "body" and not value:
            continue
        if value is None or value is False:
            continue
        what = _FETCH_OTHER_FLOWS.get(name, f"the extra body parameter {name!r}")
        raise ConfigurationError(
            f"fetch_token({name}=...) would need {what}; this session fetches client-credentials "
            "tokens with its own settings"
        )
    if include_client_id is False:
        raise ConfigurationError(
            "include_client_id=False is not supported: OfficeRND reads the client id and secret "
            "from the request body"
        )
    if method.upper() != "POST":
        raise ConfigurationError("the token request is always a POST")
