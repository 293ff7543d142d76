"""``OfficeRNDSession``: a ``requests.Session`` for one OfficeRND organisation.

It resolves short paths against the organisation, applies a default timeout, pages through lists
and retries an API 429 on idempotent calls. It has no token logic of its own: it delegates to an
:class:`~officernd_auth.auth.OfficeRNDAuth` scoped to the API origin, which asks the provider.
"""

from __future__ import annotations

import html
import logging
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from .auth import OfficeRNDAuth
from .client import parse_retry_after
from .config import DEFAULT_API_URL, check_url, mask_client_id, normalise_url, setting
from .errors import ConfigurationError
from .provider import (
    ProviderOptions,
    TokenProvider,
    check_option_names,
    resolve_provider,
    wait_bound,
    with_provider_options,
)
from .scopes import parse_scopes
from .token import Token
from .transport import SessionTransport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT_TIMEOUT", "OfficeRNDSession"]

logger = logging.getLogger(__name__)

#: ``(connect, read)`` seconds applied when a call passes no timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PAGE_SIZE = {"v1": 100, "v2": 50}
_ESCAPES = re.compile(r"%2f|%5c|\\", re.IGNORECASE)
# Paths made of plain segments cannot leave the organisation and need no further checks.
_PLAIN_PATH = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*/?")


@with_provider_options
class OfficeRNDSession(OAuth2Session):
    """A ``requests.Session`` that is authorised for one OfficeRND organisation.

    A subclass of ``requests_oauthlib.OAuth2Session`` on ``BackendApplicationClient``; tokens
    are fetched, cached and renewed by themselves. Arguments default to the ``OFFICERND_*``
    environment variables. Constructing does no network I/O.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        org: the organisation slug (``OFFICERND_ORG``), needed for short paths.
        api_url: the API origin (``OFFICERND_API_URL``); https, or http on loopback only. Only
            this origin receives the token.
        timeout: applied to every call that passes none (default (10, 60)).
        max_rate_limit_retries: how often an API 429 on an idempotent call is retried.
        max_retry_after: the longest ``Retry-After`` (seconds) that is waited for.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share, instead
            of credentials and provider options.
        {provider_options}

    ``api_version`` also chooses the API the short paths go to: ``"v2"`` (Flex, the default
    here) or ``"v1"`` (Hybrid).

    Example:
        >>> session = OfficeRNDSession("my-id", "my-secret", "flex.community.members.read",
        ...                            org="acme")
        >>> # members = list(session.paginate("members"))
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        org: str | None = None,
        api_url: str | None = None,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        max_rate_limit_retries: int = 2,
        max_retry_after: float = 30.0,
        provider: TokenProvider | None = None,
        client: BackendApplicationClient | None = None,
        token: Mapping[str, Any] | None = None,
        token_updater: Callable[[dict[str, Any]], None] | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        """Build the session; see the class documentation for the arguments."""
        _refuse_oauth2session_only(options)
        check_option_names(options, "OfficeRNDSession()")
        if client is not None:
            if type(client) is not BackendApplicationClient:
                raise ConfigurationError(
                    f"client must be an oauthlib BackendApplicationClient (client credentials), "
                    f"got {type(client).__name__}: OfficeRND API applications have no other grant"
                )
            if client_id is None:
                client_id = client.client_id
            elif client.client_id != client_id:
                raise ConfigurationError("client.client_id and client_id differ: pass one of them")
        owns_provider = provider is None
        if owns_provider:
            options.setdefault("api_version", "v2")
        provider = resolve_provider(client_id, client_secret, scope, provider=provider, **options)
        api_version = provider.api_version or "v2"
        resolved_api_url = check_url(
            "api_url", setting("api_url", api_url, required=False) or DEFAULT_API_URL
        )
        self.org = setting("org", org, required=False)
        if self.org is not None and (not self.org or "/" in self.org or self.org in {".", ".."}):
            raise ConfigurationError(
                f"org {self.org!r} is not an organisation slug: use the path segment of your "
                "admin portal, app.officernd.com/<slug>"
            )
        self.api_version = api_version
        self.api_url = resolved_api_url
        self.default_timeout = timeout
        self.max_rate_limit_retries = max(0, int(max_rate_limit_retries))
        self.max_retry_after = float(max_retry_after)
        self._officernd_auth = OfficeRNDAuth(
            provider=provider, api_url=resolved_api_url, allowed_hosts=()
        )
        # Bound once: the per-request check for a usable cached token is one call.
        self._fresh_token = provider.fresh_token
        self._judged_timeout: tuple[Any, bool] = (object(), True)
        self._backend_client = client or BackendApplicationClient(provider.client_id)
        super().__init__(client=self._backend_client, token_updater=token_updater)
        # requests-oauthlib < 2.0 has no access_token_request hook type; our own transport runs
        # these hooks, so the hook works on every supported requests-oauthlib.
        cast("dict[str, set[Any]]", self.compliance_hook).setdefault("access_token_request", set())
        # Session-level auth: requests then skips its .netrc lookup, and per-call auth= wins.
        self.auth = self._officernd_auth
        self._officernd_auth.protected_request_hooks = self.compliance_hook["protected_request"]
        # The session's own transport settings are what requests users set on a session.
        if options.get("verify") is not None:
            self.verify = options["verify"]
        if options.get("cert") is not None:
            self.cert = options["cert"]
        if options.get("proxies"):
            self.proxies = dict(options["proxies"] or {})
        self._owns_provider = owns_provider
        self._attach()
        self._ready = True
        if token:
            self.token = token

    def _attach(self) -> None:
        """Send this session's token requests through itself, and report the tokens it gets
        (the listener holds the session weakly: a shared provider must not keep it alive)."""
        if self._owns_provider:
            self.provider.use_transport(SessionTransport(self, lambda: self.compliance_hook))
        self._listener = _token_listener(self)
        self.provider.add_listener(self._listener)

    # -- OAuth2Session surface ----------------------------------------------------------------

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` that owns this session's token."""
        return self._officernd_auth.provider

    @property
    def oauth_client(self) -> BackendApplicationClient:
        """The oauthlib ``BackendApplicationClient`` this session is built on."""
        return self._backend_client

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
        auth = self.__dict__.get("_officernd_auth")
        token: Token | None = auth.provider.current_token() if auth else None
        return token.to_dict(auth.provider.clock()) if auth and token else {}

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

    # -- requests -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``{api_url}/api/{api_version}/organizations/{org}``.

        Raises:
            ConfigurationError: no organisation was given.
        """
        if not self.org:
            raise ConfigurationError(
                "org is missing: pass org=... or set OFFICERND_ORG to resolve short paths "
                "(or call with an absolute URL)"
            )
        return f"{self.api_url}/api/{self.api_version}/organizations/{self.org}"

    def url_for(self, path: str) -> str:
        """Resolve ``path`` inside the organisation; absolute URLs come back unchanged.

        Raises:
            ValueError: the path tries to leave the organisation (``..``, ``//host``, encoded
                slashes); use an absolute URL for anything outside it.
        """
        if path.startswith(("https://", "http://")):
            return path  # absolute: the common case, decided without parsing
        bare = path.lstrip("/")
        if bare.startswith(("api/v1/organizations/", "api/v2/organizations/")):
            # A full API path given as a short one: resolved against the API origin, never
            # appended to the organisation's path (that would double the prefix).
            self._check_segments(bare)
            return f"{self.api_url}/{bare}"
        if _PLAIN_PATH.fullmatch(path):
            return f"{self.base_url}/{path.lstrip('/')}"  # nothing to escape with: no parsing
        parts = urlsplit(path)
        if parts.scheme and parts.netloc:
            return path
        if path.startswith("//") or parts.scheme:
            raise ValueError(
                f"{path!r} is neither a path nor an absolute URL: write 'https://host/...' for "
                "another host, or a path such as 'members'"
            )
        self._check_segments(path)
        return f"{self.base_url}/{path.lstrip('/')}"

    @staticmethod
    def _check_segments(path: str) -> None:
        parts = urlsplit(path)
        segments = unquote(parts.path).split("/")
        if any(s in {".", ".."} for s in segments) or _ESCAPES.search(parts.path):
            raise ValueError(
                f"path {path!r} tries to leave the organisation: use an absolute URL for "
                "resources outside it"
            )

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        withhold_token: bool = False,
        client_id: str | None = None,
        client_secret: str | None = None,
        files: Any = None,
        **kwargs: Any,
    ) -> requests.Response:
        """``OAuth2Session.request``, with short paths resolved and a default timeout.

        The arguments mean what they mean in requests-oauthlib: ``data`` is the body,
        ``withhold_token=True`` sends the call without the token. The call's ``timeout`` also
        bounds how long it waits for a token. An API 429 on an idempotent method (GET, HEAD,
        OPTIONS, PUT, DELETE) is retried after its ``Retry-After`` (at most ``max_retry_after``
        s, ``max_rate_limit_retries`` times).

        Raises:
            ConfigurationError: ``client_id`` / ``client_secret`` (the session's are fixed).
        """
        if client_id is not None or client_secret is not None:
            raise ConfigurationError(
                "client_id / client_secret per call are for requests-oauthlib's refresh; this "
                "session renews with its own credentials: create another session for others"
            )
        if not url.startswith(("https://", "http://")):  # absolute URLs pass unchanged
            url = self.url_for(url)
        timeout = kwargs.get("timeout")
        if timeout is None and self.default_timeout is not None:
            kwargs["timeout"] = timeout = self.default_timeout
        if withhold_token:
            if kwargs.get("auth") is None:
                kwargs["auth"] = _no_auth
        elif self.auth is self._officernd_auth and "auth" not in kwargs:
            # The call's timeout bounds the wait for a token only when it is shorter than
            # token_deadline, which bounds every wait anyway (the default (10, 60) is not). When
            # it is, and no usable token is cached, take one now with it: the auth object then
            # finds it cached. The judgement is remembered per timeout object (token_deadline is
            # fixed when the provider is made).
            judged = self._judged_timeout
            if judged[0] is not timeout:
                deadline = self._officernd_auth.provider.token_deadline
                judged = self._judged_timeout = (timeout, wait_bound(timeout) < deadline)
            if judged[1] and self._fresh_token() is None and self._officernd_auth.allows(url):
                self._officernd_auth.provider.get_token(timeout)
        if data is not None:
            kwargs["data"] = data
        if headers is not None:
            kwargs["headers"] = headers
        if files is not None:
            kwargs["files"] = files
        # requests.Session.request as this class inherited it (never looked up on the requests
        # module at call time, which libraries such as requests-cache patch); not
        # OAuth2Session.request, which would add the token itself and log it at DEBUG.
        response: requests.Response = super(OAuth2Session, self).request(method, url, **kwargs)
        if response.status_code == 429 and method.upper() in _IDEMPOTENT:
            return self._retry_rate_limited(response, method, url, kwargs)
        if response.status_code == 500 and not self.__dict__.get("_warned_org"):
            self._warn_if_organisation_unknown(response)
        return response

    def _warn_if_organisation_unknown(self, response: requests.Response) -> None:
        """OfficeRND answers a wrong slug with 500 "Organization not found": say what to do."""
        if b"Organization not found" not in response.content[:512]:
            return
        self._warned_org = True
        logger.warning(
            "%s answered 500 'Organization not found': the organisation slug %r does not exist. "
            "Use the path segment of your admin portal (app.officernd.com/<slug>, shown under "
            "Settings -> Account details) as org= or OFFICERND_ORG.",
            _path(response.url or ""),
            self.org,
        )

    def _retry_rate_limited(
        self,
        response: requests.Response,
        method: str,
        url: str,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        for attempt in range(self.max_rate_limit_retries):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            wait = min(wait if wait is not None else 2.0**attempt, self.max_retry_after)
            logger.warning("%s %s answered 429; retrying in %.1f s", method, _path(url), wait)
            response.close()
            self.provider.sleep(wait)
            response = super(OAuth2Session, self).request(method, url, **kwargs)
            if response.status_code != 429:
                break
        return response

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """On redirects, also drop the token when the new URL is outside the API origin."""
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        if "Authorization" in prepared_request.headers and not self._officernd_auth.allows(
            prepared_request.url
        ):
            del prepared_request.headers["Authorization"]

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
        progress: bool = False,
    ) -> Iterator[Any]:
        """Yield every item of a list, following the cursors page by page.

        v2 pages with ``$limit`` (at most 50) and ``$cursorNext``; v1 with ``$limit`` (at most
        100) and ``$next`` from the ``rnd-cursor-next`` header.

        Args:
            path: the list, e.g. ``"members"``.
            params: filters, sent with every page.
            page_size: items per page (default: the API's maximum).
            progress: show a progress bar (tqdm; ``tqdm.auto`` in Jupyter). Without tqdm
                installed, a warning says how to get it and the items come all the same.

        Raises:
            requests.HTTPError: a page answered with an error status.

        Example:
            >>> # for member in session.paginate("members", {"status": "active"}): ...
        """
        items = self._pages(path, params, page_size)
        if not progress:
            return items
        return _with_progress(items, path)

    def _pages(
        self, path: str, params: Mapping[str, Any] | None, page_size: int | None
    ) -> Iterator[Any]:
        query: dict[str, Any] = dict(params or {})
        query.setdefault("$limit", page_size or _PAGE_SIZE[self.api_version])
        while True:
            response = self.get(path, params=query)
            response.raise_for_status()
            body = response.json()
            if isinstance(body, list):
                yield from body
                cursor = response.headers.get("rnd-cursor-next")
                if not cursor or not body:
                    return
                query["$next"] = cursor
            elif isinstance(body, dict) and isinstance(body.get("results"), list):
                yield from body["results"]
                cursor = body.get("cursorNext")
                if not cursor or not body["results"]:
                    return
                query["$cursorNext"] = cursor
            else:
                raise ValueError(
                    f"{path!r} did not answer with a list (got {type(body).__name__}); "
                    "paginate() is for list endpoints"
                )

    # -- presentation and pickling ------------------------------------------------------------

    def _token_state(self) -> tuple[str, int]:
        return str(self.provider.status()), self.provider.token_requests

    def __repr__(self) -> str:
        state, requests_made = self._token_state()
        return (
            f"<OfficeRNDSession org={self.org!r} api={self.api_version} "
            f"client_id={mask_client_id(self.provider.client_id)!r} "
            f"scope={' '.join(self.provider.scopes)!r} "
            f"token={state} token_requests={requests_made}>"
        )

    def _repr_html_(self) -> str:
        state, requests_made = self._token_state()
        rows = [
            ("organisation", self.org or "(none)"),
            ("API", f"{self.api_url} ({self.api_version})"),
            ("client id", mask_client_id(self.provider.client_id)),
            ("scopes", " ".join(self.provider.scopes)),
            ("token", state),
            ("token requests", str(requests_made)),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>OfficeRNDSession</caption>{body}</table>"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_listener", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._attach()


def _path(url: str) -> str:
    """The URL without its query string, for log lines."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _with_progress(items: Iterator[Any], path: str) -> Iterator[Any]:
    try:
        from tqdm.auto import tqdm  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        import warnings

        warnings.warn(
            "progress=True needs tqdm: pip install tqdm (or 'officernd-auth[notebook]'); "
            "paging without a progress bar",
            UserWarning,
            stacklevel=3,
        )
        yield from items
        return
    with tqdm(items, desc=path, unit=" items") as bar:
        yield from bar


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The auth of ``withhold_token=True``: nothing added (and no ``.netrc`` lookup)."""
    return request


def _token_listener(session: OfficeRNDSession) -> Callable[[Token], None]:
    """Calls the session's ``token_updater`` with each token it fetches (holding it weakly)."""
    reference = weakref.ref(session)

    provider = session.provider

    def listener(token: Token) -> None:
        owner = reference()
        if owner is None:  # the session is gone: stop listening for it
            provider.remove_listener(listener)
            return
        updater = getattr(owner, "token_updater", None)
        if updater is not None:
            updater(token.to_dict(provider.clock()))

    return listener


#: OAuth2Session keywords that belong to other OAuth flows, and why they are refused.
_OTHER_FLOWS = {
    "redirect_uri": "it belongs to the authorization-code flow",
    "state": "it belongs to the authorization-code flow",
    "pkce": "it belongs to the authorization-code flow",
    "auto_refresh_url": "tokens renew by themselves from token_url (there is no refresh token)",
    "auto_refresh_kwargs": "tokens renew by themselves (there is no refresh token)",
}


def _refuse_oauth2session_only(options: Mapping[str, Any]) -> None:
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
