"""How a token request travels: over the user's own transport, never through their auth.

A :class:`Transport` sends one prepared token request. :class:`PlainTransport` (the default, and
``OfficeRNDAuth``'s) uses a ``requests.Session`` of ours, one per process and TLS/proxy settings
shared by every credential and thread (at most :data:`POOL_SIZE` idle sockets per token host),
that honours the environment the way requests does (``HTTPS_PROXY``, ``NO_PROXY``,
``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) plus ``verify``, ``cert`` and ``proxies``.
:class:`SessionTransport` sends through a given ``requests.Session``: its mounted adapters (so
mocking libraries see the token request), its ``proxies``, ``verify``, ``cert`` and, with
``trust_env``, the environment.

Either way the request is prepared here, not by the session: the session's auth, its ``.netrc``
lookup, its headers and cookies and its response hooks never touch it (they could send the
secret elsewhere or log the token), and redirects are never followed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from ..core.exchange import Reply, Sender, TokenRequest, TransportError
from ..core.hints import network_cause

__all__ = [
    "POOL_SIZE",
    "PlainTransport",
    "SessionTransport",
    "Transport",
    "TransportOverrides",
    "shared_session",
    "single_attempt",
]

#: Per-call transport settings (``verify``, ``cert``, ``proxies``, as for ``requests``).
TransportOverrides = Mapping[str, Any]


class Transport(Sender):
    """Sends one token request over requests. Subclasses choose the ``requests.Session`` it
    goes through."""

    def session(self) -> requests.Session:
        """The session whose adapters and settings carry the request."""
        raise NotImplementedError

    def session_for(self, settings: Mapping[str, Any]) -> requests.Session:
        """The session that carries a request sent with ``settings`` (``verify``, ``cert``,
        ``proxies`` after per-call overrides): :meth:`session` unless a subclass says
        otherwise."""
        return self.session()

    def send(self, request: TokenRequest, overrides: Mapping[str, Any]) -> Reply:
        """POST the token request; the body is left unread (``stream=True``).

        Raises:
            TransportError: no answer came (requests' exception is described, not kept).
        """
        try:
            return _RequestsReply(self._send(request, overrides))
        except requests.Timeout as exc:
            failure = TransportError("timeout", type(exc).__name__)
        except requests.RequestException as exc:
            failure = TransportError("connect", network_cause(exc))
        raise failure  # outside the except block: requests' exception (and its body) stays out

    def _send(self, request: TokenRequest, overrides: Mapping[str, Any]) -> requests.Response:
        settings = {**self.defaults(), **{k: v for k, v in overrides.items() if v is not None}}
        session = self.session_for(settings)
        url, timeout = request.url, (request.connect_timeout, request.read_timeout)
        hooks = {"response": [_never_redirect]}
        prepared = requests.Request(
            request.method, url, headers=request.headers, data=request.body, hooks=hooks
        ).prepare()
        merged = session.merge_environment_settings(
            prepared.url,
            dict(settings.get("proxies") or {}),  # requests adds the environment's to it
            True,
            settings.get("verify"),
            settings.get("cert"),
        )
        adapter = session.get_adapter(prepared.url or url)
        once = single_attempt(adapter)
        response: requests.Response
        if once is adapter:
            # Through the session, as any request: mocking libraries that patch Session.send
            # see it too. Redirects are never followed.
            response = session.send(prepared, timeout=timeout, allow_redirects=False, **merged)
        else:
            # The user's adapter retries: its copy that sends once (see single_attempt).
            response = once.send(
                prepared,
                stream=True,
                timeout=timeout,
                verify=merged["verify"] if merged["verify"] is not None else True,
                cert=merged["cert"],
                proxies=merged["proxies"],
            )
        return response


class _RequestsReply:
    """A requests answer, read chunk by chunk as it arrives."""

    __slots__ = ("_raw", "_response", "headers", "status")

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self._raw = response.raw
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def read_chunk(self) -> bytes:
        try:
            # read1 returns what has arrived (a dripped body cannot hold one read open past
            # its socket timeout); plain read for urllib3 1.x, which lacks it.
            read1 = getattr(self._raw, "read1", None)
            if read1 is not None:
                chunk: bytes = read1(8192)
            else:
                chunk = self._raw.read(1024, decode_content=True)
        except (OSError, requests.RequestException, Urllib3Error) as exc:
            cut = TransportError("cut", type(exc).__name__)
        else:
            return chunk
        raise cut

    def close(self) -> None:
        self._response.close()


#: Connections kept open per token host, for the whole process (more are opened when as many
#: token requests are in flight at once, and closed after use).
POOL_SIZE = 8

# Owned by the process: one token session per TLS and proxy settings (a handful), for its
# life (docs/lifetimes.rst).
_shared_lock = threading.Lock()
_shared: dict[tuple[Any, ...], requests.Session] = {}


def shared_session(
    verify: bool | str, cert: str | tuple[str, str] | None, proxies: Mapping[str, str],
    trust_env: bool,
) -> requests.Session:  # fmt: skip
    """The process's one ``requests.Session`` for token requests with these TLS and proxy
    settings: every credential and thread shares its pool, so the sockets kept open per token
    host are at most :data:`POOL_SIZE`, however many tenants the process serves."""
    key = (verify, cert, tuple(sorted(proxies.items())), trust_env)
    session = _shared.get(key)
    if session is None:
        with _shared_lock:
            session = _shared.get(key)
            if session is None:
                session = requests.Session()
                session.trust_env = trust_env
                # Shared by every credential: it keeps no cookie a token endpoint sets.
                session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _shared[key] = session
    return session


class PlainTransport(Transport):
    """The process's shared ``requests.Session`` for these settings (:func:`shared_session`),
    honouring the environment like requests.

    Args:
        verify: TLS verification: ``True``, ``False`` or a CA bundle path.
        cert: a client certificate for mutual TLS (path, or ``(cert, key)``).
        proxies: proxies by scheme, as for ``requests``.
        trust_env: read proxies and CA bundles from the environment, as requests does.
    """

    def __init__(
        self,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        trust_env: bool = True,
    ) -> None:
        self.verify = verify
        self.cert = cert
        self.proxies = dict(proxies or {})
        self.trust_env = trust_env

    @classmethod
    def for_settings(
        cls,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> PlainTransport:
        """A transport with these settings, one object for every provider that has them (it
        holds nothing but them; the connections are :func:`shared_session`'s)."""
        if cls is not PlainTransport:
            return cls(verify, cert, proxies)
        try:
            return _shared_transport(verify, cert, tuple(sorted((proxies or {}).items())))
        except TypeError:  # a cert given as a list
            return cls(verify, cert, proxies)

    def __repr__(self) -> str:
        return f"<PlainTransport verify={self.verify!r} proxies={sorted(self.proxies)!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlainTransport, (self.verify, self.cert, self.proxies, self.trust_env))

    def defaults(self) -> dict[str, Any]:
        return {"verify": self.verify, "cert": self.cert, "proxies": self.proxies}

    def session(self) -> requests.Session:
        return shared_session(self.verify, self.cert, self.proxies, self.trust_env)

    def session_for(self, settings: Mapping[str, Any]) -> requests.Session:
        # A per-call override (fetch_token(verify=False)) gets the pool of its own settings:
        # a connection opened without verification must never carry another call's token
        # request that asked for it (requests < 2.32 reused such connections, CVE-2024-35195).
        verify, cert = settings.get("verify", self.verify), settings.get("cert", self.cert)
        proxies = settings.get("proxies") or {}
        if verify == self.verify and cert == self.cert and proxies == self.proxies:
            return self.session()
        return shared_session(verify, cert, dict(proxies), self.trust_env)

    def close(self) -> None:
        """Close the shared pool's idle connections (it opens new ones when next used)."""
        self.session().close()


# One transport for every provider with the same settings (it holds nothing but them).
@lru_cache(maxsize=64)
def _shared_transport(
    verify: bool | str, cert: str | tuple[str, str] | None, proxies: tuple[tuple[str, str], ...]
) -> PlainTransport:
    return PlainTransport(verify, cert, dict(proxies))


class SessionTransport(Transport):
    """Token requests through a user's ``requests.Session``.

    The session is held strongly: a provider taken from a session that is then dropped
    (``OfficeRNDSession(...).provider``) still sends its token requests the way that session
    did. The reference cycle this makes with an ``OfficeRNDSession`` is an ordinary one.

    Args:
        session: the session whose transport to use.
        hooks: returns ``{"access_token_request": [...], "access_token_response": [...]}``,
            requests-oauthlib's compliance hooks, applied to the token request and response.
    """

    def __init__(
        self,
        session: requests.Session,
        hooks: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._session = session
        self._hooks = hooks

    def __repr__(self) -> str:
        return f"<SessionTransport {type(self._session).__name__}>"

    def session(self) -> requests.Session:
        return self._session

    def prepare(self, request: TokenRequest) -> TokenRequest:
        hooks = self._hook_list("access_token_request")
        if not hooks:
            return request
        url, headers, body = request.url, dict(request.headers), request.body
        for hook in hooks:
            url, headers, body = hook(url, headers, body)
        return request._replace(url=url, headers=dict(headers), body=body)

    def inspect(
        self, status: int, headers: Mapping[str, str], content: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        hooks = self._hook_list("access_token_response")
        if not hooks:
            return status, headers, content
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        for hook in hooks:
            response = hook(response)
        return response.status_code, response.headers, response.content

    def portable(self) -> Sender:
        return PlainTransport()  # a session's transport is attached again by the session

    def _hook_list(self, name: str) -> list[Callable[..., Any]]:
        hooks = self._hooks() if self._hooks is not None else {}
        return list(hooks.get(name, ()))


def single_attempt(adapter: BaseAdapter) -> BaseAdapter:
    """``adapter`` as it sends one token request: one POST per attempt, whatever retries the
    user gave it for API calls.

    An ``HTTPAdapter`` whose ``max_retries`` would re-send the POST on a status (a "retry
    everything" ``Retry(total=8, status_forcelist=[429, 500, ...], allowed_methods=None)``) or
    sleep a ``Retry-After`` while we hold the token lock is used through a shallow copy with
    requests' default of no retries; the copy shares its connection pool, TLS settings and
    subclass behaviour. Our retry policy retries instead, inside the budget and the deadline.
    Any other adapter (a mocking library's, say) is used as it is.
    """
    if not isinstance(adapter, HTTPAdapter):
        return adapter
    retries = adapter.max_retries
    if not retries.total and not retries.status_forcelist and retries.read is False:
        return adapter  # requests' default: already one attempt
    once = object.__new__(type(adapter))
    once.__dict__.update(adapter.__dict__)
    once.max_retries = Retry(0, read=False)
    return once


def _never_redirect(response: requests.Response, **kwargs: Any) -> requests.Response:
    """The token request's response hook: a 3xx loses its ``Location``, so requests neither
    reads its body (it would, unbounded, to follow or to offer the redirect) nor parses an odd
    ``Location``; the body is then read by our bounded reader like any other."""
    if 300 <= response.status_code < 400:
        response.headers.pop("Location", None)
    return response
