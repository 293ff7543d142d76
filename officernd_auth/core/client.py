"""The token client: one token request per call, sent by an HTTP adapter, judged by the core.

oauthlib's :class:`~oauthlib.oauth2.BackendApplicationClient` builds the client-credentials body;
:mod:`officernd_auth.core.exchange` holds the rest of the exchange as data (the request, the bounds
on the answer, what the answer means). :class:`TokenClient` drives one exchange over a
:class:`~officernd_auth.core.exchange.Sender` (requests'
:class:`~officernd_auth.requests_adapter.transport.Transport`, httpx's ``HttpxTransport``),
synchronously or on an event loop. This module imports no HTTP library.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

from oauthlib.oauth2 import BackendApplicationClient

from ..values.deadline import Deadline
from ..values.errors import ConfigurationError, TokenEndpointError
from ..values.records import mask_client_id
from ..values.redact import Secret, mask_secrets, scrub, secret_forms
from ..values.token import Token
from .exchange import (
    DEFAULT_TOKEN_LIFETIME,
    MAX_RESPONSE_BYTES,
    AnswerReader,
    AsyncReply,
    Reply,
    Sender,
    TokenRequest,
    TransportError,
    loop_runner,
    parse_retry_after,
    read_token,
    text_of,
    unreachable,
)
from .scopes import format_scopes
from .settings import DEFAULT_TOKEN_TIMEOUT, Settings

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_RESPONSE_BYTES",
    "TokenClient",
    "mask_secrets",
    "parse_retry_after",
    "scrub",
    "secret_forms",
]

logger = logging.getLogger("officernd_auth.client")


class TokenClient:
    """Fetches client-credentials tokens. One network attempt per :meth:`fetch_token` call.

    Retries, caching and budgets are the provider's business, not this class's.

    Args:
        token_url: the token endpoint.
        client_id: the application's client id.
        client_secret: the application's client secret. Kept out of ``repr`` and every error.
        timeout: ``(connect, read)`` seconds for the token request.
        transport: the HTTP adapter's :class:`~officernd_auth.core.exchange.Sender` that carries the
            request; without one, :meth:`fetch_token` raises ``ConfigurationError`` (the core
            has no HTTP library of its own).
    """

    # Made per token request by a provider that keeps none (its transport is shared), or kept
    # by one that was given a transport: slots keep it small.
    __slots__ = ("_client_secret", "client_id", "timeout", "token_url", "transport")

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TOKEN_TIMEOUT,
        transport: Sender | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.transport = transport

    @classmethod
    def from_settings(cls, settings: Settings, transport: Sender | None) -> TokenClient:
        """The client for a provider's ``settings``, sending over ``transport``."""
        return cls(
            settings.token_url,
            settings.client_id,
            settings.client_secret,
            timeout=settings.token_timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<TokenClient {self.token_url} client_id={mask_client_id(self.client_id)!r}>"

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__slots__}
        if state["transport"] is not None:
            state["transport"] = state["transport"].portable()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def build_body(self, scopes: tuple[str, ...]) -> str:
        """The form body: ``grant_type``, ``client_id``, ``client_secret`` and ``scope``."""
        # oauthlib's client is made per request, not kept: it would keep the last token answer
        # it parsed, about 1.5 KiB per tenant for the life of the process (benchmarks, table 5c).
        body: str = BackendApplicationClient(self.client_id).prepare_request_body(
            scope=format_scopes(scopes),
            include_client_id=True,
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        return body

    def request(
        self,
        scopes: tuple[str, ...],
        deadline: Deadline | None = None,
        timeout: float | tuple[float, float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> TokenRequest:
        """The token request for ``scopes``, its timeouts bounded by ``deadline``."""
        timeout = timeout if timeout is not None else self.timeout
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        if deadline is not None:
            connect, read = deadline.bound(connect, read)
        sent_headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            # Never stored by a caching layer the user installed (requests-cache honours it).
            "Cache-Control": "no-store",
            **(headers or {}),
        }
        return TokenRequest(self.token_url, sent_headers, self.build_body(scopes), connect, read)

    def fetch_token(
        self,
        scopes: tuple[str, ...],
        now: float,
        *,
        deadline: Deadline | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Token:
        """Send one token request and return the token.

        The answer is read as it arrives, at most :data:`MAX_RESPONSE_BYTES`, and the whole
        attempt takes at most the read timeout (or until ``deadline``, if sooner), however
        slowly the body arrives. Every error is raised outside any ``except`` block, so no
        exception of the HTTP library (whose request holds the secret in its body) rides
        along as ``__context__``.

        Args:
            scopes: the scopes to request.
            now: the current time (from the provider's clock), taken as the moment of issue.
            deadline: the call's :class:`~officernd_auth.values.deadline.Deadline`, which this
                attempt must not outlast.
            overrides: for this request only: ``timeout``, ``headers`` (added), ``verify``,
                ``cert``, ``proxies``.

        Raises:
            InvalidClientError, InvalidScopeError, RateLimitedError, TokenEndpointError,
            TokenRequestError: see :mod:`officernd_auth.errors`.
        """
        sender = self._sender()
        run = loop_runner()
        if run is not None and sender.sends_async and not overrides:
            return run(functools.partial(self.afetch_token, scopes, now, deadline=deadline))  # type: ignore[no-any-return]
        self._log(scopes)
        overrides = dict(overrides or {})
        timeout, headers = overrides.pop("timeout", None), overrides.pop("headers", None)
        sender.ready()
        # The request (with the secret) lives only in this helper's frame, which has returned
        # before anything here can raise (error trackers record frames' locals).
        reply, request, failure = self._send(sender, scopes, deadline, timeout, headers, overrides)
        if reply is None:
            raise TokenEndpointError(failure, retryable=True)  # sending again may work
        reader = AnswerReader(reply.headers, time.monotonic() + request.read_timeout)
        try:
            while not reader.failure and reader.feed(reply.read_chunk()):
                pass
        except TransportError as cut:
            reader.cut(cut)
        finally:
            reply.close()
        return self._judge(sender, reply.status, reply.headers, reader, scopes, now)

    async def afetch_token(
        self,
        scopes: tuple[str, ...],
        now: float,
        *,
        deadline: Deadline | None = None,
    ) -> Token:
        """As :meth:`fetch_token`, sent on the running event loop through the sender's
        :meth:`~officernd_auth.core.exchange.Sender.asend`."""
        sender = self._sender()
        self._log(scopes)
        reply: AsyncReply | None = None
        failure = ""
        request = sender.prepare(self.request(scopes, deadline))
        connect, read = request.connect_timeout, request.read_timeout
        try:
            reply = await sender.asend(request)
        except TransportError as exc:
            failure = unreachable(exc, self.token_url, connect, read)
        del request  # a coroutine's frame lives on: the body (with the secret) goes now
        if reply is None:
            raise TokenEndpointError(failure, retryable=True)
        reader = AnswerReader(reply.headers, time.monotonic() + read)
        try:
            while not reader.failure and reader.feed(await reply.read_chunk()):
                pass
        except TransportError as cut:
            reader.cut(cut)
        finally:
            await reply.close()
        return self._judge(sender, reply.status, reply.headers, reader, scopes, now)

    def _sender(self) -> Sender:
        if self.transport is None:
            raise ConfigurationError(
                "this TokenClient has no HTTP adapter: make it with transport= (a requests "
                "Transport or an httpx one), or use a TokenProvider, which attaches one"
            )
        return self.transport

    def _log(self, scopes: tuple[str, ...]) -> None:
        logger.debug(
            "requesting a token from %s for client %s, scope %r",
            self.token_url,
            mask_client_id(self.client_id),
            format_scopes(scopes),
        )

    def _send(
        self,
        sender: Sender,
        scopes: tuple[str, ...],
        deadline: Deadline | None,
        timeout: Any,
        headers: Any,
        overrides: dict[str, Any],
    ) -> tuple[Reply | None, TokenRequest, str]:
        """Send the token request: ``(reply, request, "")``, or ``(None, request, why)`` when no
        answer came. The request returned has no body."""
        request = sender.prepare(self.request(scopes, deadline, timeout, headers))
        try:
            return sender.send(request, overrides), request._replace(body=""), ""
        except TransportError as exc:
            why = unreachable(exc, self.token_url, request.connect_timeout, request.read_timeout)
            return None, request._replace(body=""), why

    def _judge(
        self,
        sender: Sender,
        status: int,
        headers: Mapping[str, str],
        reader: AnswerReader,
        scopes: tuple[str, ...],
        now: float,
    ) -> Token:
        content = reader.content(self.token_url, status)
        status, headers, content = sender.inspect(status, headers, content)
        text = text_of(headers, content)
        return self.parse_response(status, headers, text, scopes, now)

    def parse_response(
        self,
        status: int,
        headers: Mapping[str, str],
        text: str,
        scopes: tuple[str, ...],
        now: float,
    ) -> Token:
        """Turn a token response (already read) into a token, or into one of our errors
        (:func:`~officernd_auth.core.exchange.read_token`).

        Raises:
            InvalidClientError, InvalidScopeError, RateLimitedError, TokenEndpointError,
            TokenRequestError: see :mod:`officernd_auth.errors`.
        """
        return read_token(
            status, headers, text, scopes, now,
            token_url=self.token_url, client_id=self.client_id,
            secret=Secret(self._client_secret),
        )  # fmt: skip
