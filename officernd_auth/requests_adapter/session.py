"""``OfficeRNDSession``: a ``requests.Session`` for one OfficeRND organisation.

It resolves short paths against the organisation, applies a default timeout, pages through lists and
retries an API 429 on idempotent calls. It has no token logic of its own: it delegates to an
:class:`~officernd_auth.requests_adapter.auth.OfficeRNDAuth` scoped to the API origin, which asks
the provider. The ``OAuth2Session`` surface (token dict, ``fetch_token``...) lives in
:mod:`officernd_auth.requests_adapter.oauth2`, the paging in :mod:`officernd_auth.core.paging`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import requests
from oauthlib.oauth2 import BackendApplicationClient

from ..core.hints import ORGANISATION_HINT, organisation_not_found
from ..core.organisation import (
    DEFAULT_TIMEOUT,
    check_org,
    organisation_url,
    rate_limited_wait,
    resolve,
)
from ..core.paging import PAGE_SIZE, pages, with_progress
from ..core.provider import TokenProvider, resolve_provider
from ..core.settings import (
    DEFAULT_API_URL,
    ProviderOptions,
    front_end_setting,
    with_provider_options,
)
from ..values.deadline import Deadline, wait_bound
from ..values.errors import ConfigurationError
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.urls import check_url, url_path
from .auth import OfficeRNDAuth
from .oauth2 import (
    ClientCredentialsSession,
    SessionCall,
    refuse_other_flows,
    token_listener,
)
from .transport import SessionTransport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT_TIMEOUT", "OfficeRNDSession"]

logger = logging.getLogger("officernd_auth.session")

_ABSOLUTE = ("https://", "http://")
#: Statuses the session looks at after a call: 429 (retry), 500 (a wrong slug). A 401 is the
#: auth's (its response hook heals it).
_WATCHED = frozenset({429, 500})


@with_provider_options
class OfficeRNDSession(ClientCredentialsSession):
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
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        refuse_other_flows(options)
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
        self.org = front_end_setting("org", org)
        if owns_provider:
            options.setdefault("api_version", "v2")
        provider = resolve_provider(
            client_id,
            secret,
            scope,
            provider=provider,
            where="OfficeRNDSession()",
            missing_too=() if self.org else ("org",),
            **options,
        )
        api_version = provider.api_version or "v2"
        resolved_api_url = check_url(
            "api_url", front_end_setting("api_url", api_url) or DEFAULT_API_URL
        )
        check_org(self.org)
        self.api_version = api_version
        self.api_url = resolved_api_url
        self.max_rate_limit_retries = max(0, int(max_rate_limit_retries))
        self.max_retry_after = float(max_retry_after)
        self._provider = provider
        self.default_timeout = timeout
        self._officernd_auth = OfficeRNDAuth(
            provider=provider, api_url=resolved_api_url, allowed_hosts=()
        )
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
        self._listener = token_listener(self)
        self.provider.add_listener(self._listener)

    # -- requests -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``{api_url}/api/{api_version}/organizations/{org}``.

        Raises:
            ConfigurationError: no organisation was given.
        """
        return organisation_url(self.api_url, self.api_version, self.org)

    @property
    def default_timeout(self) -> float | tuple[float, float] | None:
        """The timeout of every call that passes none (default (10, 60))."""
        return self._default_timeout

    @default_timeout.setter
    def default_timeout(self, value: float | tuple[float, float] | None) -> None:
        self._default_timeout = value
        # Whether a call with this timeout must wait less for a token than token_deadline lets
        # it anyway; the usual (10, 60) need not. Decided here, once, not on every request:
        # benchmarks table 1b counts ~2,400 instructions a request for asking each time.
        self._default_bounds_token_wait = wait_bound(value) < self._provider.token_deadline

    def url_for(self, path: str) -> str:
        """Resolve ``path`` inside the organisation; absolute URLs come back unchanged.

        Raises:
            ValueError: the path tries to leave the organisation (``..``, ``//host``, encoded
                slashes); use an absolute URL for anything outside it.
        """
        return resolve(path, self.api_url, self.api_version, self.org)

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
        *,
        params: Any = None,
        cookies: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: bool | None = None,
        verify: bool | str | None = None,
        cert: Any = None,
        json: Any = None,
    ) -> requests.Response:
        """``OAuth2Session.request``, with short paths resolved and a default timeout.

        The arguments mean what they mean in requests-oauthlib (the first six after ``url``
        in its positional order) and in ``requests.Session.request``: ``data`` is the body,
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
        if not url.startswith(_ABSOLUTE):  # absolute URLs pass unchanged
            url = resolve(url, self.api_url, self.api_version, self.org)  # what url_for does
        ours = auth is None and not withhold_token
        if timeout is None:
            timeout = self._default_timeout
            if self._default_bounds_token_wait and ours:
                self._take_token(url, timeout)
        elif ours:
            self._take_token(url, timeout)
        if auth is None and withhold_token:
            auth = _no_auth
        # requests.Session.request as this class inherited it, its arguments in its positional
        # order (no keyword dict is built: benchmarks, table 1b); not OAuth2Session.request,
        # which would add the token itself and log it at DEBUG.
        response: requests.Response = self.requests_class.request(
            self, method, url, params, data, headers, cookies, files, auth, timeout,
            allow_redirects, proxies, hooks, stream, verify, cert, json,
        )  # fmt: skip
        if response.status_code in _WATCHED:
            call = SessionCall(
                params, data, headers, cookies, files, auth, timeout, allow_redirects,
                proxies, hooks, stream, verify, cert, json,
            )  # fmt: skip
            return self._answered(response, method, url, call)
        return response

    def _take_token(self, url: str, timeout: Any) -> None:
        """With no token to send as it is, take one now, within this call's timeout (the auth
        object, which requests calls without the timeout, then finds it held)."""
        if self.auth is self._officernd_auth and self._officernd_auth.waits_for_token(url):
            provider = self._provider
            provider.get_token(deadline=Deadline.for_call(timeout, provider.token_deadline))

    def _answered(
        self, response: requests.Response, method: str, url: str, call: SessionCall
    ) -> requests.Response:
        """What the session does after a call: retry a 429, explain a 500 for a wrong slug."""
        if response.status_code == 429:
            response = self._retry_rate_limited(response, method, url, call)
        if response.status_code == 500 and not self.__dict__.get("_warned_org"):
            self._warn_if_organisation_unknown(response)
        return response

    def _warn_if_organisation_unknown(self, response: requests.Response) -> None:
        """OfficeRND answers a wrong slug with 500 "Organization not found": say what to do."""
        if not organisation_not_found(response.status_code, response.content):
            return
        self._warned_org = True
        logger.warning(
            "%s answered 500 'Organization not found' for org %r: %s; pass it as org= or set "
            "OFFICERND_ORG.",
            url_path(response.url),
            self.org,
            ORGANISATION_HINT,
        )

    def _retry_rate_limited(
        self,
        response: requests.Response,
        method: str,
        url: str,
        call: SessionCall,
    ) -> requests.Response:
        retries = (self.max_rate_limit_retries, self.max_retry_after)
        attempt = 0
        while response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            wait = rate_limited_wait(method, url, retry_after, attempt, retries)
            if wait is None:
                break
            response.close()
            self.provider.sleep(wait)
            response = self.send_call(method, url, call)
            attempt += 1
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
        items = pages(self.get, path, params, page_size or PAGE_SIZE[self.api_version])
        return with_progress(items, path) if progress else items

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
        import html  # html.entities is a large table: only for notebooks

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


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The auth of ``withhold_token=True``: nothing added (and no ``.netrc`` lookup)."""
    return request
