"""``OfficeRNDClient`` and ``AsyncOfficeRNDClient``: an ``httpx.Client`` and an
``httpx.AsyncClient`` for one OfficeRND organisation; imported from :mod:`officernd_auth.httpx`
(and the same on httpx2's clients from :mod:`officernd_auth.httpx2`). This module holds what they
add, as :class:`SyncClient` and :class:`AsyncClient`, and imports neither library.

What ``OfficeRNDSession`` adds to a ``requests.Session``, added to httpx's clients: short paths
resolved inside the organisation, a default timeout, ``paginate``, the API's 429 retried on
idempotent calls and a wrong organisation explained. The token comes from an
:class:`~officernd_auth.httpx.OfficeRNDAuth` scoped to the API origin; the token request travels
over the client's own connection settings (:mod:`officernd_auth.httpx_adapter.transport`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import ModuleType, TracebackType
from typing import Any, ClassVar

import anyio

from ..core.hints import ORGANISATION_HINT, organisation_not_found
from ..core.organisation import (
    DEFAULT_TIMEOUT,
    check_org,
    organisation_url,
    rate_limited_wait,
    resolve,
)
from ..core.paging import PAGE_SIZE, async_pages, pages, with_progress
from ..core.provider import TokenProvider, resolve_provider
from ..core.settings import DEFAULT_API_URL, OPTION_NAMES, front_end_setting, with_provider_options
from ..values.errors import ConfigurationError
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.urls import check_url, url_path
from .auth import AuthFlows
from .transport import HttpxTransport

__all__ = ["AsyncClient", "SyncClient"]

logger = logging.getLogger("officernd_auth.httpx_client")

# Keywords of both httpx and the provider: the client's connection settings, which its token
# request travels with too.
_HTTPX_TOO = frozenset({"verify", "cert"})
_ABSOLUTE = ("https://", "http://")
#: A keyword left out (the library's ``USE_CLIENT_DEFAULT``, which each library has its own of).
_CLIENT_DEFAULT: Any = object()
#: Statuses a client looks at after a call: 429 (retry), 500 (a wrong slug).
_WATCHED = frozenset({429, 500})
_REFUSED = {
    "auth": "the client authenticates itself; share a token with provider=, or use "
    "httpx.Client(auth=officernd_auth.httpx.OfficeRNDAuth(...)) for a client of your own",
    "base_url": "the base URL is the organisation's: pass org= and api_url=",
    "proxies": "proxies= is requests' spelling: httpx clients take proxy= or mounts=",
}


class _Organisation:
    """What both clients add to httpx's: the organisation, the token, the 429 policy."""

    org: str | None
    api_url: str
    api_version: str
    max_rate_limit_retries: int
    max_retry_after: float
    _provider: TokenProvider
    _token_transport: HttpxTransport | None
    #: The HTTP library (``httpx`` or ``httpx2``) and its auth class, set by the class that adds
    #: the library's client.
    _lib: ClassVar[ModuleType]
    _auth_class: ClassVar[type[AuthFlows]]
    #: ``_merge_url`` and ``send`` as ``super()`` in the client class would find them, for
    #: this class's MRO (a user's mixin after ours still sees every call); found once per class,
    #: not on every call.
    _next_merge: Callable[..., Any]
    #: The library client's own methods this mixin calls (it stands before that client).
    get: Callable[..., Any]
    _next_send: Callable[..., Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        owner = next((k for k in mro if k.__dict__.get("_client_class")), None)
        if owner is None:
            return  # one of the mixins below: no library's client yet
        later = [k for k in mro[mro.index(owner) + 1 :] if k.__module__ != __name__]
        for name, attribute in (("_merge_url", "_next_merge"), ("send", "_next_send")):
            found = next(k.__dict__[name] for k in later if name in k.__dict__)
            setattr(cls, attribute, staticmethod(found))

    def _configure(
        self,
        where: str,
        credentials: tuple[str | None, Any, str | Iterable[str] | None],
        org: str | None,
        api_url: str | None,
        timeout: Any,
        retries: tuple[int, float],
        provider: TokenProvider | None,
        options: dict[str, Any],
        asynchronous: bool,
    ) -> dict[str, Any]:
        """Check and keep this client's settings; return ``httpx``'s keywords."""
        for name, why in _REFUSED.items():
            if name in options:
                raise ConfigurationError(f"{where} takes no {name}=: {why}")
        provider_options = {
            k: options.pop(k) for k in list(options) if k in OPTION_NAMES and k not in _HTTPX_TOO
        }
        self.org = check_org(front_end_setting("org", org))
        owns_provider = provider is None
        if owns_provider:
            provider_options.setdefault("api_version", "v2")
        client_id, secret, scope = credentials
        self._provider = resolve_provider(
            client_id, secret, scope, provider=provider, where=where,
            missing_too=() if self.org else ("org",), **provider_options,
        )  # fmt: skip
        self.api_version = self._provider.api_version or "v2"
        self.api_url = check_url(
            "api_url", front_end_setting("api_url", api_url) or DEFAULT_API_URL
        )
        self.max_rate_limit_retries = max(0, int(retries[0]))
        self.max_retry_after = float(retries[1])
        self._token_transport = None
        if owns_provider:
            self._token_transport = HttpxTransport(
                options, lib=self._lib, asynchronous=asynchronous
            )
            self._provider.use_transport(self._token_transport)
        base = organisation_url(self.api_url, self.api_version, self.org) if self.org else ""
        auth = self._auth_class(provider=self._provider, api_url=self.api_url, allowed_hosts=())
        timeout = _httpx_timeout(timeout, self._lib)
        return {**options, "auth": auth, "base_url": base, "timeout": timeout}

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` this client takes tokens from."""
        return self._provider

    def url_for(self, path: str) -> str:
        """Resolve ``path`` inside the organisation; absolute URLs come back unchanged.

        Raises:
            ValueError: the path tries to leave the organisation (``..``, ``//host``, encoded
                slashes); use an absolute URL for anything outside it.
            ConfigurationError: a short path, and no organisation.
        """
        return resolve(path, self.api_url, self.api_version, self.org)

    def _resolved(self, url: Any) -> Any:
        if isinstance(url, self._lib.URL):
            return url if url.is_absolute_url else self.url_for(str(url))
        return self.url_for(url)

    def _merge_url(self, url: Any) -> Any:
        """httpx's own step of ``build_request`` that joins a call's URL to the client's
        ``base_url``: a short path is resolved by ``url_for`` first (which keeps it inside the
        organisation), an absolute URL goes on as it is. The same for the sync and async
        clients; overriding this one-argument step rather than ``build_request`` spares every
        call the forwarding of httpx's ten keywords (benchmarks, table 1d)."""
        if url.__class__ is not str or not url.startswith(_ABSOLUTE):
            url = self._resolved(url)
        return self._next_merge(self, url)

    def _rate_limited_wait(self, response: Any, attempt: int) -> float | None:
        """Seconds to wait before sending a 429'd call again, or None: do not (the core's
        decision, :func:`~officernd_auth.core.organisation.rate_limited_wait`)."""
        request = response.request
        try:
            _ = request.content  # a body already read can be sent again
        except self._lib.RequestNotRead:
            replayable = False
        else:
            replayable = True
        retries = (self.max_rate_limit_retries, self.max_retry_after)
        retry_after = response.headers.get("Retry-After")
        return rate_limited_wait(
            request.method, str(request.url), retry_after, attempt, retries, replayable=replayable
        )

    def _check_organisation(self, response: Any) -> None:
        """OfficeRND answers a wrong slug with 500 "Organization not found": say what to do."""
        if response.status_code != 500 or self.__dict__.get("_warned_org"):
            return
        try:
            content = response.content
        except self._lib.ResponseNotRead:
            return  # streamed: not ours to read
        if organisation_not_found(500, content):
            self._warned_org = True
            logger.warning(
                "%s answered 500 'Organization not found' for org %r: %s; pass it as org= or "
                "set OFFICERND_ORG.",
                url_path(str(response.url)), self.org, ORGANISATION_HINT,
            )  # fmt: skip

    def _describe(self, name: str) -> str:
        provider = self._provider
        return (
            f"<{name} org={self.org!r} api={self.api_version} "
            f"client_id={mask_client_id(provider.client_id)!r} "
            f"scope={' '.join(provider.scopes)!r} token={provider.status()} "
            f"token_requests={provider.token_requests}>"
        )


@with_provider_options
class SyncClient(_Organisation):
    """An ``httpx.Client`` authorised for one OfficeRND organisation.

    Takes what :class:`~officernd_auth.OfficeRNDSession` takes, with the same defaults from the
    ``OFFICERND_*`` environment, and ``httpx.Client``'s own keywords (``headers``,
    ``event_hooks``, ``verify``, ``cert``, ``proxy``, ``mounts``, ``transport``, ``trust_env``,
    ``limits``...). The token request travels with the client's ``verify``, ``cert``,
    ``trust_env``, ``proxy``, ``mounts``, ``transport``, ``http1`` and ``http2``, never through
    its event hooks, headers, cookies or redirects. Constructing does no network I/O.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        org: the organisation slug (``OFFICERND_ORG``), needed for short paths.
        api_url: the API origin (``OFFICERND_API_URL``); only this origin receives the token.
        timeout: as httpx's, or ``(connect, read)`` seconds (default (10, 60)); it also bounds
            the wait for a token.
        max_rate_limit_retries: how often an API 429 on an idempotent call is retried.
        max_retry_after: the longest ``Retry-After`` (seconds) that is waited for.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share (its
            token requests then keep their own transport).
        {provider_options}

    ``auth=``, ``base_url=`` and requests' ``proxies=`` are refused with the reason.

    Example:
        >>> client = OfficeRNDClient("my-id", "my-secret", "flex.community.members.read",
        ...                          org="acme")
        >>> # members = list(client.paginate("members"))
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        org: str | None = None,
        api_url: str | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        max_rate_limit_retries: int = 2,
        max_retry_after: float = 30.0,
        provider: TokenProvider | None = None,
        **options: Any,
    ) -> None:
        """Build the client; see the class documentation for the arguments."""
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        settings = self._configure(
            "OfficeRNDClient()", (client_id, secret, scope), org, api_url, timeout,
            (max_rate_limit_retries, max_retry_after), provider, options, asynchronous=False,
        )  # fmt: skip
        super().__init__(**settings)

    def send(
        self,
        request: Any,
        *,
        stream: bool = False,
        auth: Any = _CLIENT_DEFAULT,
        follow_redirects: Any = _CLIENT_DEFAULT,
    ) -> Any:
        """``httpx.Client.send``; an API 429 on an idempotent call is sent again after its
        ``Retry-After`` (at most ``max_retry_after`` s, ``max_rate_limit_retries`` times)."""
        if auth is _CLIENT_DEFAULT:  # the library's own "use the client's setting"
            auth = self._lib.USE_CLIENT_DEFAULT
        if follow_redirects is _CLIENT_DEFAULT:
            follow_redirects = self._lib.USE_CLIENT_DEFAULT
        response = self._next_send(
            self, request, stream=stream, auth=auth, follow_redirects=follow_redirects
        )
        if response.status_code not in _WATCHED:
            return response
        attempt = 0
        while response.status_code == 429:
            wait = self._rate_limited_wait(response, attempt)
            if wait is None:
                break
            response.close()
            self._provider.sleep(wait)
            response = self._next_send(
                self, request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
            attempt += 1
        self._check_organisation(response)
        return response

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
        progress: bool = False,
    ) -> Iterator[Any]:
        """Yield every item of a list, following the cursors page by page, as
        :meth:`OfficeRNDSession.paginate <officernd_auth.OfficeRNDSession.paginate>` does.

        Raises:
            httpx.HTTPStatusError: a page answered with an error status.
        """
        items = pages(self.get, path, params, page_size or PAGE_SIZE[self.api_version])
        return with_progress(items, path) if progress else items

    def close(self) -> None:
        """Close the client and the connections of its token requests."""
        super().close()  # type: ignore[misc]  # the library's client, next in line
        if self._token_transport is not None:
            self._token_transport.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        super().__exit__(exc_type, exc_value, traceback)  # type: ignore[misc]  # the library's client, next in line
        if self._token_transport is not None:
            self._token_transport.close()

    def __repr__(self) -> str:
        return self._describe(f"officernd_auth.{self._lib.__name__}.OfficeRNDClient")


@with_provider_options
class AsyncClient(_Organisation):
    """An ``httpx.AsyncClient`` authorised for one OfficeRND organisation.

    The arguments are ``OfficeRNDClient``'s, with ``httpx.AsyncClient``'s keywords. A token
    is fetched or renewed in a worker thread, its request sent on this client's event loop over
    the client's connection settings (async ``transport`` and ``mounts`` included): the loop
    never waits on a lock or the network for it. Retries of a 429 wait with ``anyio.sleep``.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        org: the organisation slug (``OFFICERND_ORG``), needed for short paths.
        api_url: the API origin (``OFFICERND_API_URL``); only this origin receives the token.
        timeout: as httpx's, or ``(connect, read)`` seconds (default (10, 60)).
        max_rate_limit_retries: how often an API 429 on an idempotent call is retried.
        max_retry_after: the longest ``Retry-After`` (seconds) that is waited for.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share.
        {provider_options}

    Example:
        >>> async def main() -> None:
        ...     async with AsyncOfficeRNDClient(org="acme") as client:
        ...         members = [m async for m in client.paginate("members")]
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        org: str | None = None,
        api_url: str | None = None,
        timeout: Any = DEFAULT_TIMEOUT,
        max_rate_limit_retries: int = 2,
        max_retry_after: float = 30.0,
        provider: TokenProvider | None = None,
        **options: Any,
    ) -> None:
        """Build the client; see the class documentation for the arguments."""
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        settings = self._configure(
            "AsyncOfficeRNDClient()", (client_id, secret, scope), org, api_url, timeout,
            (max_rate_limit_retries, max_retry_after), provider, options, asynchronous=True,
        )  # fmt: skip
        super().__init__(**settings)

    async def send(
        self,
        request: Any,
        *,
        stream: bool = False,
        auth: Any = _CLIENT_DEFAULT,
        follow_redirects: Any = _CLIENT_DEFAULT,
    ) -> Any:
        """``httpx.AsyncClient.send``; an API 429 on an idempotent call is sent again after its
        ``Retry-After``, as :meth:`OfficeRNDClient.send` does."""
        if auth is _CLIENT_DEFAULT:  # the library's own "use the client's setting"
            auth = self._lib.USE_CLIENT_DEFAULT
        if follow_redirects is _CLIENT_DEFAULT:
            follow_redirects = self._lib.USE_CLIENT_DEFAULT
        response = await self._next_send(
            self, request, stream=stream, auth=auth, follow_redirects=follow_redirects
        )
        if response.status_code not in _WATCHED:
            return response
        attempt = 0
        while response.status_code == 429:
            wait = self._rate_limited_wait(response, attempt)
            if wait is None:
                break
            await response.aclose()
            sleep = self._provider.sleep
            if sleep is time.sleep:
                await anyio.sleep(wait)
            else:
                sleep(wait)  # the caller's own (a test's recorder)
            response = await self._next_send(
                self, request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
            attempt += 1
        self._check_organisation(response)
        return response

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[Any]:
        """Yield every item of a list (``async for``), following the cursors page by page.

        Raises:
            httpx.HTTPStatusError: a page answered with an error status.
        """
        return async_pages(self.get, path, params, page_size or PAGE_SIZE[self.api_version])

    async def aclose(self) -> None:
        """Close the client and the connections of its token requests."""
        await super().aclose()  # type: ignore[misc]  # the library's client, next in line
        if self._token_transport is not None:
            await self._token_transport.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await super().__aexit__(exc_type, exc_value, traceback)  # type: ignore[misc]  # the library's client, next in line
        if self._token_transport is not None:
            await self._token_transport.aclose()

    def __repr__(self) -> str:
        return self._describe(f"officernd_auth.{self._lib.__name__}.AsyncOfficeRNDClient")


def _httpx_timeout(timeout: Any, lib: ModuleType) -> Any:
    """requests' ``(connect, read)`` pair as an ``httpx.Timeout``; anything else as it is."""
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, read = timeout
        return lib.Timeout(read, connect=connect)
    return timeout
