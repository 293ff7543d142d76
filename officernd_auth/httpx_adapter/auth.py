"""``OfficeRNDAuth`` for httpx and httpx2: ``httpx.get(url, auth=...)``, ``httpx.Client(auth=...)``
and ``httpx.AsyncClient(auth=...)`` (and the same of httpx2); imported as
:class:`officernd_auth.httpx.OfficeRNDAuth` and :class:`officernd_auth.httpx2.OfficeRNDAuth`,
which are :class:`AuthFlows` on each library's ``Auth`` (this module imports neither library).

It stands on the core alone (no requests): the same provider as the requests front end (one
flight per credential across threads, event loops and, through the file or Redis cache,
processes), the same budget, the same host rules (:class:`~officernd_auth.core.api_rules.ApiRules`:
the token only to the API origins), the same single 401 heal. An async caller fetches on its
event loop (:meth:`~officernd_auth.core.fetching.Fetching.aget_token`): one task per loop asks, the
loop's other tasks wait for it, and no thread is started; a task cancelled meanwhile leaves the
fetch to finish, storing the token for the next caller and releasing every lock.

The token request of an object that made its own provider goes over httpx
(:class:`~officernd_auth.httpx_adapter.transport.HttpxTransport`, with ``verify``, ``cert`` and
``proxies`` and the environment as httpx reads it), so respx and pytest-httpx see it; one made
with ``provider=`` leaves that provider's transport as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from ..core.api_rules import ApiRules
from ..core.provider import TokenProvider, resolve_provider
from ..core.settings import ProviderOptions, with_provider_options
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.urls import url_path
from .transport import shared_transport

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["ANYIO_LOOP", "AuthFlows"]

logger = logging.getLogger("officernd_auth.httpx_auth")

_T = TypeVar("_T")


class _AnyioLoop:
    """The core's :class:`~officernd_auth.core.fetching.EventLoop`, over anyio (asyncio or trio)."""

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    async def in_thread(self, function: Callable[[], _T]) -> _T:
        return await anyio.to_thread.run_sync(function, abandon_on_cancel=True)

    def from_thread(self, function: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        return anyio.from_thread.run(function)

    async def shielded(self, function: Callable[[], Awaitable[_T]]) -> _T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another event loop library (trio): the caller waits it out
            with anyio.CancelScope(shield=True):
                return await function()
        # asyncio: a task of its own, which a cancelled caller stops waiting for at once
        task = asyncio.ensure_future(function())
        _running.add(task)
        task.add_done_callback(_finished)
        return await asyncio.shield(task)


# Owned by the process: a token fetch whose caller was cancelled, until it ends (a few
# seconds at most: the token deadline bounds it; docs/lifetimes.rst).
_running: set[asyncio.Future[Any]] = set()


def _finished(task: asyncio.Future[Any]) -> None:
    _running.discard(task)
    if not task.cancelled():
        task.exception()  # its caller, if still waiting, has it; no "never retrieved" warning


#: The event loop as the core sees it.
ANYIO_LOOP = _AnyioLoop()


@with_provider_options
class AuthFlows(ApiRules):
    """Authenticate httpx requests (sync and async) to OfficeRND with a cached, self-renewing
    token.

    Takes what :class:`officernd_auth.OfficeRNDAuth` takes, with the same defaults from the
    ``OFFICERND_*`` environment; constructing does no network I/O. A provider shared with
    requests code (``provider=``), or a shared file or Redis cache, makes both use one token.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        api_url: an API origin that receives the token (``OFFICERND_API_URL`` when neither this
            nor ``allowed_hosts`` is given); OfficeRND's own API hosts are allowed too.
        allowed_hosts: the hosts that receive the token, as ``"host"`` or ``"host:port"``.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share.
        {provider_options}

    Example:
        >>>         >>> auth = OfficeRNDAuth("my-id", "my-secret", "flex.community.members.read")
        >>> # httpx.get("https://app.officernd.com/api/v2/organizations/acme/members", auth=auth)
    """

    #: The HTTP library (``httpx`` or ``httpx2``), set by the class that adds its ``Auth``.
    _lib: ClassVar[ModuleType]

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        api_url: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        provider: TokenProvider | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        """Build the auth object; see the class documentation for the arguments."""
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        self._provider = resolve_provider(
            client_id, secret, scope, provider=provider, where="OfficeRNDAuth()", **options
        )
        self._init_rules(api_url, allowed_hosts)
        # Per event loop, the task taking a token for the others (see _token_on_loop); an entry
        # lives only while it does, so no loop is kept.
        self._fetching: dict[object, anyio.Event] = {}
        self._owns_provider = provider is None
        if provider is None:
            made = self._provider
            transport = shared_transport(made.verify, made.cert, made.proxies, self._lib)
            made.use_transport(transport)

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` this object takes tokens from."""
        return self._provider

    def close(self) -> None:
        """Close the connections of its own token requests (none when its provider was
        given, or its token requests go over the process's shared client). Optional: a dropped
        object keeps nothing open."""
        if self._owns_provider:
            self._provider.close()

    async def aclose(self) -> None:
        """As :meth:`close`, from async code."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        masked = mask_client_id(self.provider.client_id)
        return f"<officernd_auth.{self._lib.__name__}.OfficeRNDAuth client_id={masked!r}>"

    # -- the library's Auth -----------------------------------------------------------------------

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        url = str(request.url)
        if not self.allows(url):
            response = yield request
            if response.status_code == 401:
                self.worth_healing(request.method, url, None)  # says how to allow the origin
            return
        fresh = self._provider.fresh_token()  # never a lock, never I/O
        sent = fresh.authorization if fresh else self._token(_timeout_of(request))
        request.headers["Authorization"] = sent
        response = yield request
        if response.status_code != 401 or not self._heals(request, response):
            return
        response.read()  # release the connection before the token request
        authorization = self._renewed(sent, _timeout_of(request))
        self.healed(request.method)
        request.headers["Authorization"] = authorization
        response = yield request
        if response.status_code == 401:
            self.refused_again(request.method, url, authorization)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        url = str(request.url)
        if not self.allows(url):
            response = yield request
            if response.status_code == 401:
                self.worth_healing(request.method, url, None)
            return
        fresh = self._provider.fresh_token()  # never a lock, never I/O
        if fresh is not None:
            sent = fresh.authorization
        else:
            sent = await self._token_on_loop(_timeout_of(request))
        request.headers["Authorization"] = sent
        response = yield request
        if response.status_code != 401 or not self._heals(request, response):
            return
        await response.aread()
        timeout = _timeout_of(request)
        await self._provider.ainvalidate(ANYIO_LOOP, sent, timeout)
        authorization = await self._token_on_loop(timeout)
        self.healed(request.method)
        request.headers["Authorization"] = authorization
        response = yield request
        if response.status_code == 401:
            self.refused_again(request.method, url, authorization)

    # -- internals ------------------------------------------------------------------------------

    def _heals(self, request: Any, response: Any) -> bool:
        """Whether a 401 is worth a new token and one re-send of ``request``: judged by the request
        that got it (after redirects the client followed, another host's, which may not have
        carried our token: a foreign 401 never costs a token request)."""
        answered = response.request
        url = str(answered.url)
        carried = answered.headers.get("Authorization")
        if answered is not request and carried != request.headers.get("Authorization"):
            logger.debug("%s answered 401 after a redirect that dropped the token", url_path(url))
            return False
        if not self.worth_healing(answered.method, url, carried):
            return False
        try:
            _ = request.content  # a body already read (bytes, JSON, form) can be sent again
        except self._lib.RequestNotRead:
            logger.warning(
                "%s %s answered 401 but its streamed body cannot be re-sent; returning the 401",
                request.method,
                url_path(url),
            )
            return False
        return True

    async def _token_on_loop(self, timeout: tuple[float | None, float | None] | None) -> str:
        """The header to send, for a task: one task per event loop asks the provider, the loop's
        other tasks wait for that one or, while it renews a token that may still be sent, send
        that one."""
        loop = anyio.lowlevel.current_token()
        leader = self._fetching.get(loop)
        if leader is not None:
            held = self._provider.held_in_renewal()
            if held is not None:
                return held.authorization
            await leader.wait()
            fresh = self._provider.fresh_token()
            if fresh is not None:
                return fresh.authorization
            # The leader failed or was cancelled: this task asks for itself.
        done = anyio.Event()
        self._fetching[loop] = done
        try:
            return (await self._provider.aget_token(ANYIO_LOOP, timeout)).authorization
        finally:
            if self._fetching.get(loop) is done:
                del self._fetching[loop]
            done.set()

    def _token(self, timeout: tuple[float | None, float | None] | None) -> str:
        """The header to send, waiting for a token at most as long as the request's timeout
        lets it wait for the API."""
        return self.provider.get_token(timeout=timeout).authorization

    def _renewed(self, sent: str, timeout: tuple[float | None, float | None] | None) -> str:
        """Forget the refused token (unless another thread already replaced it) and take the
        next one, within the request's timeout."""
        provider = self.provider
        provider.invalidate(sent, timeout=timeout)
        return provider.get_token(timeout=timeout).authorization


def _timeout_of(request: Any) -> tuple[float | None, float | None] | None:
    """The request's httpx timeout as requests' ``(connect, read)`` pair, which bounds the wait
    for a token as it bounds each wait for the API."""
    timeout = request.extensions.get("timeout")
    if not isinstance(timeout, dict):
        return None
    return timeout.get("connect"), timeout.get("read")
