"""Token requests over httpx, with the connection settings of the user's httpx client.

:class:`HttpxTransport` is the httpx adapter's :class:`~officernd_auth.core.exchange.Sender`: its
POST travels over an httpx client of ours built from the user's ``verify``, ``cert``, ``trust_env``,
``proxy``, ``mounts``, ``transport``, ``http1`` and ``http2``: their TLS settings, their proxies and
their transports (so respx and pytest-httpx see the token request), never their auth, event hooks,
headers, cookies or redirects. The answer is handed to the token client chunk by chunk, so its
bounds (size, read time, deadline) apply as for requests.

For an ``httpx.AsyncClient``'s settings the request is sent on the caller's event loop
(:meth:`HttpxTransport.asend`), with an ``httpx.AsyncClient`` of ours opened on that loop.

The same code serves httpx and httpx2 (its continuation, the same interface under another name):
each transport is given the library module it sends with, and imports neither itself.
"""

from __future__ import annotations

import asyncio
import atexit
import ssl
import threading
import weakref
from collections.abc import Mapping
from functools import lru_cache
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import ModuleType
from typing import Any

from ..core.exchange import AsyncReply, Reply, Sender, TokenRequest, TransportError
from ..values.errors import ConfigurationError

__all__ = ["CONNECTION_SETTINGS", "HttpxTransport", "shared_transport"]

#: The httpx client settings a token request travels with.
CONNECTION_SETTINGS = ("verify", "cert", "trust_env", "proxy", "mounts", "transport", "http1",
                       "http2")  # fmt: skip
_ASYNC_ONLY = ("mounts", "transport")
# Owned by the process: one token client per TLS and proxy settings (a handful), closed at
# exit (docs/lifetimes.rst).
_shared_lock = threading.Lock()
_shared: dict[tuple[Any, ...], HttpxTransport] = {}


def shared_transport(
    verify: bool | str,
    cert: str | tuple[str, str] | None,
    proxies: Mapping[str, str],
    lib: ModuleType | str,
) -> HttpxTransport:
    """The process's token transport for requests-style ``verify``, ``cert`` and ``proxies``
    (the provider options of an ``OfficeRNDAuth`` used without a client of ours) over ``lib``
    (``httpx`` or ``httpx2``, or its name): one client per such settings, shared by every
    credential and thread, as the requests side's
    :func:`~officernd_auth.requests_adapter.transport.shared_session` is."""
    if isinstance(lib, str):
        import importlib

        lib = importlib.import_module(lib)  # an unpickled transport names its library
    key = (verify, cert, tuple(sorted(proxies.items())), lib.__name__)
    with _shared_lock:
        transport = _shared.get(key)
        if transport is None:
            if not _shared:
                atexit.register(_close_shared)  # no socket left to the interpreter's exit
            settings = _connection_settings(verify, cert, proxies, lib)
            transport = _shared[key] = HttpxTransport(settings, lib=lib, shared=True)
            transport.origin = key
    return transport


def _close_shared() -> None:
    with _shared_lock:
        transports = list(_shared.values())
        _shared.clear()
    for transport in transports:
        transport.release()


def _connection_settings(
    verify: bool | str | ssl.SSLContext,
    cert: str | tuple[str, str] | None,
    proxies: Mapping[str, str],
    lib: ModuleType,
    asynchronous: bool = False,
) -> dict[str, Any]:
    tls: bool | ssl.SSLContext = verify if isinstance(verify, (bool, ssl.SSLContext)) else True
    if isinstance(verify, str) or (cert is not None and not isinstance(verify, ssl.SSLContext)):
        tls = _ssl_context(verify, cert)
    found: dict[str, Any] = {"verify": tls}
    kind = lib.AsyncHTTPTransport if asynchronous else lib.HTTPTransport
    mounts: dict[str, Any] = {
        mount_pattern(key): kind(verify=tls, proxy=url) for key, url in proxies.items() if url
    }
    if mounts:
        found["mounts"] = mounts
    return found


def mount_pattern(key: str) -> str:
    """httpx's mount pattern for a requests-style ``proxies`` key: ``"https"`` -> ``"https://"``,
    ``"all"`` -> ``"all://"``, and a per-host key (``"http://host"``, ``"all://host:8080"``) as it
    is, so that the proxy carries only what requests would send through it.

    Raises:
        ConfigurationError: a key httpx cannot express.
    """
    if key in ("http", "https", "all"):
        return f"{key}://"
    scheme, separator, host = key.partition("://")
    if separator and scheme in ("http", "https", "all") and host and "/" not in host:
        return key
    raise ConfigurationError(
        f"proxies key {key!r} has no httpx equivalent: use 'http', 'https', 'all' or "
        "'scheme://host[:port]' (or give the httpx client proxy= / mounts= yourself)"
    )


def _tls_context(settings: dict[str, Any], lib: ModuleType) -> ssl.SSLContext:
    """The TLS context ``lib`` would make for these client settings (``verify``, ``cert``,
    ``trust_env``; httpx2's trusts the operating system's store); ``cert`` is taken out of them,
    into the context."""
    verify = settings.get("verify", True)
    if isinstance(verify, ssl.SSLContext):
        return verify
    cert = settings.pop("cert", None)
    trust_env = settings.get("trust_env", True)
    if isinstance(cert, (str, tuple, type(None))):
        return _shared_context(lib, verify, cert, trust_env)
    return _new_context(lib, verify, cert, trust_env)


@lru_cache(maxsize=64)
def _shared_context(
    lib: ModuleType, verify: bool | str, cert: str | tuple[str, ...] | None, trust_env: bool
) -> ssl.SSLContext:
    """One context per library and TLS settings for the process (a handful; docs/lifetimes.rst):
    making one takes tens of milliseconds, which every client made would otherwise pay again."""
    return _new_context(lib, verify, cert, trust_env)


def _new_context(lib: ModuleType, verify: bool | str, cert: Any, trust_env: bool) -> ssl.SSLContext:
    try:
        context: ssl.SSLContext
        if cert is None:
            context = lib.create_ssl_context(verify=verify, trust_env=trust_env)
        else:
            context = lib.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
    except (OSError, ssl.SSLError) as exc:
        failure = _unreadable(verify, cert, exc)
    else:
        return context
    raise failure  # outside the except block: the library's error is not chained to ours


def _ssl_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    import os

    try:
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
    except (OSError, ssl.SSLError) as exc:
        failure = _unreadable(verify, cert, exc)
    else:
        return context
    raise failure


def _unreadable(verify: object, cert: object, error: BaseException) -> ConfigurationError:
    """The configuration error for a CA bundle or client certificate that cannot be used."""
    what = f"verify={verify!r}" if isinstance(verify, str) else f"cert={cert!r}"
    return ConfigurationError(
        f"{what} cannot be used for TLS ({type(error).__name__}: {error.args[-1]}): give the "
        "path of a readable PEM file (or, for verify, a directory of them)"
    )


class HttpxTransport(Sender):
    """Token requests over ``lib`` (``httpx`` or ``httpx2``) with ``settings`` (keywords of its
    ``Client``, or of its ``AsyncClient`` when ``asynchronous``; only :data:`CONNECTION_SETTINGS`
    are used).

    Raises (when sending):
        ConfigurationError: an async client's own ``transport`` / ``mounts`` asked for a token
            outside its event loop (a provider shared with sync code): share a file or memory
            cache instead, or call from async code.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        lib: ModuleType,
        asynchronous: bool = False,
        shared: bool = False,
    ) -> None:
        self._lib = lib
        self._settings = {k: v for k, v in settings.items() if k in CONNECTION_SETTINGS}
        if "transport" not in self._settings:
            # One TLS context, made now (tens of milliseconds): the clients made from these
            # settings later, sync and one per event loop, share it instead of each making its
            # own (on the loop, for an async one).
            self._settings["verify"] = _tls_context(self._settings, lib)
        self._asynchronous = asynchronous
        # Sync settings of a shared transport are turned into async ones per event loop; a sync
        # client's own (its transport, mounts) cannot be.
        self.sends_async = asynchronous or shared
        self._shared = shared
        self._lock = threading.Lock()
        self._client: Any = None  # the library's Client, made when first needed
        # Per event loop (an async client's connections belong to the loop that opened them);
        # an entry goes with its loop.
        self._async_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        #: The requests-style ``(verify, cert, proxies)`` a shared transport was made for.
        self.origin: tuple[Any, ...] | None = None

    def __repr__(self) -> str:
        kind = "async" if self._asynchronous else "sync"
        return f"<HttpxTransport {self._lib.__name__} {kind} settings={sorted(self._settings)!r}>"

    def ready(self) -> None:
        """Build the httpx client the next send uses (its TLS context takes tens of
        milliseconds), so that the token request's read timeout does not count it."""
        self._sync_client()

    def send(self, request: TokenRequest, overrides: Mapping[str, Any]) -> Reply:
        """POST the token request; the answer's body is left unread."""
        if any(value is not None for value in overrides.values()):
            raise ConfigurationError(
                "verify, cert and proxies for one token request are for requests sessions: "
                "an httpx client's token requests use the client's own settings"
            )
        client, lib = self._sync_client(), self._lib
        try:
            response = client.send(_build(client, request, lib), stream=True)
        except lib.TimeoutException as exc:
            failure = TransportError("timeout", type(exc).__name__)
        except lib.HTTPError as exc:
            failure = TransportError("connect", _cause(exc))
        else:
            return _Reply(response, lib)
        raise failure  # outside the except block: httpx's exception (and its request) stays out

    async def asend(self, request: TokenRequest) -> AsyncReply:
        """POST the token request on the running event loop."""
        client, lib = self._async_twin(), self._lib
        try:
            response = await client.send(_build(client, request, lib), stream=True)
        except lib.TimeoutException as exc:
            failure = TransportError("timeout", type(exc).__name__)
        except lib.HTTPError as exc:
            failure = TransportError("connect", _cause(exc))
        else:
            return _AsyncReply(response, lib)
        raise failure

    def _sync_client(self) -> Any:
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
                self._client = self._lib.Client(**settings, cookies=_no_cookies(),
                                                follow_redirects=False)  # fmt: skip
            return self._client

    def _async_twin(self) -> Any:
        # Made on the loop it serves, by its first token request there.
        loop = _running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                settings = self._settings
                if not self._asynchronous:
                    assert self.origin is not None  # sends_async: a shared transport
                    _, _, proxies, _ = self.origin
                    tls = settings["verify"]  # the context made with the transport
                    settings = _connection_settings(tls, None, dict(proxies), self._lib, True)
                client = self._lib.AsyncClient(**settings, cookies=_no_cookies(),
                                               follow_redirects=False)  # fmt: skip
                self._async_clients[loop] = client
            return client

    def __reduce__(self) -> tuple[Any, ...]:
        if self.origin is None:
            raise TypeError("an HttpxTransport is not pickled: a client attaches its own again")
        verify, cert, proxies, lib = self.origin  # the process's shared one for these settings
        return (shared_transport, (verify, cert, dict(proxies), lib))

    def portable(self) -> Sender | None:
        """Itself when shared (unpickled as the shared transport of the same TLS and proxy
        settings); ``None`` for a client's own, which the client attaches again."""
        return self if self.origin is not None else None

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
        client = self._async_clients.pop(_running_loop(), None)
        if client is not None:
            await client.aclose()


def _no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing: a token client is shared by every credential and thread,
    so a cookie one token endpoint set must never ride along on another tenant's request."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _running_loop() -> Any:
    """The running event loop (asyncio's), or one key for every loop of another library."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return _OTHER_LOOPS


class _OtherLoops:
    """The key of the async clients of event loops other than asyncio's (trio)."""


_OTHER_LOOPS = _OtherLoops()


def _build(client: Any, request: TokenRequest, lib: ModuleType) -> Any:
    timeout = lib.Timeout(request.read_timeout, connect=request.connect_timeout)
    return client.build_request(request.method, request.url, headers=request.headers,
                                content=request.body.encode(), timeout=timeout)  # fmt: skip


def _cause(error: Exception) -> str:
    from ..core.hints import network_cause

    return network_cause(error)


class _Reply:
    """An httpx answer, read chunk by chunk as it arrives."""

    def __init__(self, response: Any, lib: ModuleType) -> None:
        self._response = response
        self._failures = (lib.HTTPError, lib.StreamError)
        self._chunks = response.iter_bytes()
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def read_chunk(self) -> bytes:
        try:
            return next(self._chunks, b"")
        except self._failures as exc:
            cut = TransportError("cut", type(exc).__name__)
        raise cut

    def close(self) -> None:
        self._response.close()


class _AsyncReply:
    """An httpx answer read on the event loop."""

    def __init__(self, response: Any, lib: ModuleType) -> None:
        self._response = response
        self._failures = (lib.HTTPError, lib.StreamError)
        self._chunks = response.aiter_bytes()
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def read_chunk(self) -> bytes:
        try:
            return await anext(self._chunks, b"")
        except self._failures as exc:
            cut = TransportError("cut", type(exc).__name__)
        raise cut

    async def close(self) -> None:
        await self._response.aclose()
