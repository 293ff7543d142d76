"""Token requests over httpx, with the connection settings of the user's httpx client.

:class:`HttpxTransport` is a :class:`~officernd_auth.transport.Transport` whose POST travels over
an httpx client of ours built from the user's ``verify``, ``cert``, ``trust_env``, ``proxy``,
``mounts``, ``transport``, ``http1`` and ``http2``: their TLS settings, their proxies and their
transports (so respx and pytest-httpx see the token request), never their auth, event hooks,
headers, cookies or redirects. It answers with a ``requests.Response`` whose body is read
chunk by chunk, so the token client's bounds (size, read time, deadline) apply unchanged.

For an ``httpx.AsyncClient``'s settings the request is async: the token is fetched in a worker
thread (see :func:`off_loop`), which hands the request and every read of its answer to the event
loop it came from; the loop goes on meanwhile.
"""

from __future__ import annotations

import atexit
import functools
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio.from_thread
import anyio.to_thread
import httpx
import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from .errors import ConfigurationError
from .transport import Transport, TransportOverrides

__all__ = ["CONNECTION_SETTINGS", "HttpxTransport", "off_loop", "shared_transport"]

_T = TypeVar("_T")

#: The httpx client settings a token request travels with.
CONNECTION_SETTINGS = ("verify", "cert", "trust_env", "proxy", "mounts", "transport", "http1",
                       "http2")  # fmt: skip
_ASYNC_ONLY = ("mounts", "transport")
# Set in a worker thread while it runs a call for an event loop (off_loop): that loop can take
# the thread's async token requests.
_for_loop = threading.local()
# Owned by the process: one token client per TLS and proxy settings (a handful), closed at
# exit (docs/lifetimes.rst).
_shared_lock = threading.Lock()
_shared: dict[tuple[Any, ...], HttpxTransport] = {}


async def off_loop(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` in a worker thread: the event loop goes on meanwhile. A cancelled
    caller stops waiting at once; the call finishes in its thread (a token fetch stores its
    token and releases its locks), so that no lock is left held."""
    call = functools.partial(_marked, function, *args)
    return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)


def _marked(function: Callable[..., _T], *args: Any) -> _T:
    _for_loop.active = True
    try:
        return function(*args)
    finally:
        _for_loop.active = False


def shared_transport(
    verify: bool | str, cert: str | tuple[str, str] | None, proxies: Mapping[str, str]
) -> HttpxTransport:
    """The process's token transport for requests-style ``verify``, ``cert`` and ``proxies``
    (the provider options of an ``OfficeRNDAuth`` used without a client of ours): one httpx
    client per such settings, shared by every credential and thread, as the requests side's
    :func:`~officernd_auth.transport.shared_session` is."""
    key = (verify, cert, tuple(sorted(proxies.items())))
    with _shared_lock:
        transport = _shared.get(key)
        if transport is None:
            if not _shared:
                atexit.register(_close_shared)  # no socket left to the interpreter's exit
            transport = _shared[key] = HttpxTransport(
                _connection_settings(verify, cert, proxies), shared=True
            )
    return transport


def _close_shared() -> None:
    with _shared_lock:
        transports = list(_shared.values())
        _shared.clear()
    for transport in transports:
        transport.release()


def _connection_settings(
    verify: bool | str, cert: str | tuple[str, str] | None, proxies: Mapping[str, str]
) -> dict[str, Any]:
    tls: bool | ssl.SSLContext = verify if isinstance(verify, bool) else True
    if isinstance(verify, str) or cert is not None:
        tls = _ssl_context(verify, cert)
    found: dict[str, Any] = {"verify": tls}
    mounts = {
        f"{scheme}://" if scheme in {"http", "https"} else "all://": httpx.HTTPTransport(
            verify=tls, proxy=url
        )
        for scheme, url in proxies.items()
        if url
    }
    if mounts:
        found["mounts"] = mounts
    return found


def _ssl_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    import os

    if isinstance(verify, str):
        directory = os.path.isdir(verify)
        context = ssl.create_default_context(
            cafile=None if directory else verify, capath=verify if directory else None
        )
    else:
        context = ssl.create_default_context()
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(*(cert if isinstance(cert, tuple) else (cert,)))
    return context


class HttpxTransport(Transport):
    """Token requests over httpx with ``settings`` (keywords of ``httpx.Client``, or of
    ``httpx.AsyncClient`` when ``asynchronous``; only :data:`CONNECTION_SETTINGS` are used).

    Raises (when sending):
        ConfigurationError: an async client's own ``transport`` / ``mounts`` asked for a token
            outside its event loop (a provider shared with sync code): share a file or memory
            cache instead, or call from async code.
    """

    def __init__(
        self, settings: Mapping[str, Any], *, asynchronous: bool = False, shared: bool = False
    ) -> None:
        self._settings = {k: v for k, v in settings.items() if k in CONNECTION_SETTINGS}
        self._asynchronous = asynchronous
        self._shared = shared
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        kind = "async" if self._asynchronous else "sync"
        return f"<HttpxTransport {kind} settings={sorted(self._settings)!r}>"

    def session(self) -> requests.Session:
        raise TypeError("an HttpxTransport sends with httpx: it has no requests.Session")

    def ready(self) -> None:
        """Build the httpx client the next send uses (its TLS context takes tens of
        milliseconds), so that the token request's read timeout does not count it."""
        if self._asynchronous and getattr(_for_loop, "active", False):
            self._async_twin()
        else:
            self._sync_client()

    def send(
        self,
        url: str,
        headers: dict[str, str],
        body: str,
        *,
        timeout: float | tuple[float, float],
        overrides: TransportOverrides,
    ) -> requests.Response:
        """POST the token request; the answer's body is left unread."""
        if any(value is not None for value in overrides.values()):
            raise ConfigurationError(
                "verify, cert and proxies for one token request are for requests sessions: "
                "an httpx client's token requests use the client's own settings"
            )
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        limits = httpx.Timeout(read, connect=connect)
        content = body.encode()
        try:
            if self._asynchronous and getattr(_for_loop, "active", False):
                return self._send_on_loop(url, headers, content, limits)
            return self._send(url, headers, content, limits)
        except httpx.TimeoutException as exc:
            raise requests.Timeout(type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise requests.ConnectionError(type(exc).__name__) from exc

    def _send(
        self, url: str, headers: dict[str, str], content: bytes, limits: httpx.Timeout
    ) -> requests.Response:
        client = self._sync_client()
        request = client.build_request("POST", url, headers=headers, content=content,
                                       timeout=limits)  # fmt: skip
        response = client.send(request, stream=True)
        client.cookies.clear()  # nothing a token endpoint sets is kept
        chunks = response.iter_bytes()
        return _as_requests(response, lambda: next(chunks, b""), response.close)

    def _send_on_loop(
        self, url: str, headers: dict[str, str], content: bytes, limits: httpx.Timeout
    ) -> requests.Response:
        async def send() -> httpx.Response:
            client = self._async_twin()
            request = client.build_request("POST", url, headers=headers, content=content,
                                           timeout=limits)  # fmt: skip
            answer = await client.send(request, stream=True)
            client.cookies.clear()
            return answer

        response = anyio.from_thread.run(send)
        chunks = response.aiter_bytes()

        async def chunk() -> bytes:
            return await anext(chunks, b"")

        def read() -> bytes:
            return anyio.from_thread.run(chunk)

        def close() -> None:
            anyio.from_thread.run(response.aclose)

        return _as_requests(response, read, close)

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                settings = dict(self._settings)
                if self._asynchronous:
                    given = [k for k in _ASYNC_ONLY if settings.pop(k, None) is not None]
                    if given:
                        raise ConfigurationError(
                            f"this token request does not come from the async client's event "
                            f"loop, and its {' and '.join(given)} are async: fetch tokens from "
                            "async code, or share a provider without them"
                        )
                self._client = httpx.Client(**settings, follow_redirects=False)
            return self._client

    def _async_twin(self) -> httpx.AsyncClient:
        # Made by the thread about to send on the loop (see ready) or on the loop itself; its
        # connections are opened on the loop it serves.
        with self._lock:
            if self._async_client is None:
                self._async_client = httpx.AsyncClient(**self._settings, follow_redirects=False)
            return self._async_client

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an HttpxTransport is not pickled: a client attaches its own again")

    def close(self) -> None:
        """Close the sync connections (see :meth:`aclose` for the async ones); the process's
        shared transport stays open for the other credentials."""
        if not self._shared:
            self.release()

    def release(self) -> None:
        """Close the sync connections, shared or not."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close every connection this transport opened."""
        self.close()
        client, self._async_client = self._async_client, None
        if client is not None:
            await client.aclose()


class _Body:
    """``response.raw`` for the token client's bounded reader: ``read1`` returns the next
    chunk as it arrives; httpx's errors become requests' (without the request, which holds the
    secret in its body)."""

    def __init__(self, read: Callable[[], bytes], close: Callable[[], None]) -> None:
        self._read = read
        self._close = close

    def read1(self, size: int = -1) -> bytes:
        try:
            return self._read()
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise requests.ConnectionError(type(exc).__name__) from None

    def close(self) -> None:
        self._close()


def _as_requests(
    response: httpx.Response, read: Callable[[], bytes], close: Callable[[], None]
) -> requests.Response:
    answer = requests.Response()
    answer.status_code = response.status_code
    answer.headers = CaseInsensitiveDict(response.headers)
    answer.url = str(response.url)
    answer.reason = response.reason_phrase
    answer.encoding = get_encoding_from_headers(answer.headers)
    answer.raw = _Body(read, close)
    return answer
