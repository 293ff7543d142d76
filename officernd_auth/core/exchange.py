"""The token exchange as data: the request to send, the rules for reading the answer, and what
the answer means. No I/O, and no HTTP library.

An HTTP adapter (:mod:`officernd_auth.requests_adapter.transport` for requests,
``officernd_auth.httpx_adapter.transport`` for httpx) is a :class:`Sender`: it sends a
:class:`TokenRequest` and hands back a :class:`Reply` (status, headers, the body chunk by chunk).
Everything else is decided here and in :class:`~officernd_auth.core.client.TokenClient`: the form
body (oauthlib's :class:`~oauthlib.oauth2.BackendApplicationClient`, itself sans-I/O, builds it and
parses the token), the headers, the size and time bounds on the answer (:class:`AnswerReader`,
applied by the client while it reads), and the token or typed error the answer comes to
(:func:`read_token`). An adapter turns its library's network failures into :class:`TransportError`,
which carries a description and never the request (its body holds the secret).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

from ..values import errors  # its token errors load oauthlib when first used, not here
from ..values.deadline import parse_retry_after
from ..values.records import is_bearer_token
from ..values.redact import Secret, scrub
from ..values.token import Token

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_RESPONSE_BYTES",
    "AnswerReader",
    "AsyncReply",
    "Reply",
    "Sender",
    "TokenRequest",
    "TransportError",
    "loop_runner",
    "on_loop",
    "parse_retry_after",
    "read_token",
]

logger = logging.getLogger("officernd_auth.client")

#: Assumed lifetime when a token response has no ``expires_in`` (OfficeRND documents one hour).
DEFAULT_TOKEN_LIFETIME = 3599.0
#: Longest ``expires_in`` we believe; anything longer is a broken response, not a token.
_MAX_LIFETIME = 366 * 24 * 3600.0
#: A token answer is a few hundred bytes; anything past this is not one.
MAX_RESPONSE_BYTES = 64 * 1024
_LIMIT_TEXT = "64 KiB"

_INVALID_SCOPE_HINT = (
    "grant the scope to the application under Settings -> Developer Tools -> Applications -> "
    "Configure, or request fewer scopes"
)


class TokenRequest(NamedTuple):
    """One token request, as data: what an adapter sends. Its ``repr`` leaves out the body,
    which holds the client secret."""

    url: str
    headers: dict[str, str]
    body: str
    connect_timeout: float
    read_timeout: float
    method: str = "POST"

    def __repr__(self) -> str:
        return f"<TokenRequest {self.method} {self.url}>"


class TransportError(Exception):
    """An adapter could not send the request or read its answer.

    Attributes:
        kind: ``"timeout"`` (no answer in time), ``"connect"`` (could not reach the endpoint)
            or ``"cut"`` (the connection dropped mid-answer).
        detail: what it comes down to, in words, with the library's exception class (never
            the request).
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail


class Reply(Protocol):
    """An answer being read: its status and headers, and the body chunk by chunk."""

    status: int
    headers: Mapping[str, str]

    def read_chunk(self) -> bytes:
        """The next part of the body as it arrives; ``b""`` at its end.

        Raises:
            TransportError: the connection dropped.
        """

    def close(self) -> None:
        """Release the connection."""


class AsyncReply(Protocol):
    """:class:`Reply`, read on an event loop."""

    status: int
    headers: Mapping[str, str]

    async def read_chunk(self) -> bytes:
        """As :meth:`Reply.read_chunk`."""

    async def close(self) -> None:
        """Release the connection."""


class Sender:
    """What an HTTP adapter provides: send a :class:`TokenRequest`, hand back a :class:`Reply`.

    Redirects are never followed; the user's auth, hooks, headers and cookies never touch the
    request. :meth:`asend` is for adapters that can send on an event loop.
    """

    #: True when :meth:`asend` sends on the caller's event loop.
    sends_async = False

    def ready(self) -> None:
        """Make what a send needs (a client, its TLS context) before the token request's clock
        starts: the read timeout bounds the server's answer, not our set-up."""

    def defaults(self) -> dict[str, Any]:
        """``verify``, ``cert`` and ``proxies`` given to this sender, if any."""
        return {}

    def prepare(self, request: TokenRequest) -> TokenRequest:
        """Adjust the request before it is sent (requests-oauthlib's compliance hooks)."""
        return request

    def inspect(
        self, status: int, headers: Mapping[str, str], content: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Adjust the answer, read within its bounds, before it is parsed (requests-oauthlib's
        compliance hooks)."""
        return status, headers, content

    def send(self, request: TokenRequest, overrides: Mapping[str, Any]) -> Reply:
        """Send ``request``; return as soon as the status and headers are in.

        Raises:
            TransportError: no answer came.
        """
        raise NotImplementedError

    async def asend(self, request: TokenRequest) -> AsyncReply:
        """As :meth:`send`, on the running event loop (when :attr:`sends_async`)."""
        raise NotImplementedError

    def portable(self) -> Sender | None:
        """What a pickled token client keeps of this sender: itself, an equivalent that can be
        pickled, or ``None`` (the owner attaches one again)."""
        return self

    def close(self) -> None:
        """Close the connections this sender opened."""


class AnswerReader:
    """The bounds on reading one answer: at most ``MAX_RESPONSE_BYTES`` (64 KiB), all of it by
    ``deadline`` (``time.monotonic()``). The adapter's chunks go to :meth:`feed`; a non-empty
    ``failure`` says why reading stopped."""

    __slots__ = ("chunks", "deadline", "failure", "size")

    def __init__(self, headers: Mapping[str, str], deadline: float) -> None:
        self.deadline = deadline
        self.chunks: list[bytes] = []
        self.size = 0
        self.failure = ""
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            self.failure = f"sent an answer of {int(declared)} bytes, over the {_LIMIT_TEXT} limit"

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``True`` while more should be read."""
        if not chunk:
            return False
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > MAX_RESPONSE_BYTES:
            self.failure = f"sent an answer over the {_LIMIT_TEXT} limit"
        elif time.monotonic() > self.deadline:
            self.failure = (
                "answered too slowly (the whole answer must come within the read timeout)"
            )
        return not self.failure

    def cut(self, error: TransportError) -> None:
        """The connection dropped mid-answer."""
        self.failure = f"dropped the connection mid-answer ({error.detail})"

    def content(self, token_url: str, status: int) -> bytes:
        """The body read.

        Raises:
            TokenEndpointError: reading stopped: a cut or dripping answer is a transport
                failure (retried); an oversized one is the server's answer (retried only if
                its status is a 5xx).
        """
        if not self.failure:
            return b"".join(self.chunks)
        oversized = self.failure.startswith("sent an answer")
        raise errors.TokenEndpointError(
            f"the token endpoint {token_url} {self.failure} (HTTP {status})",
            status_code=status if oversized else None,
            retryable=status >= 500 or not oversized,
        )


def unreachable(error: TransportError, token_url: str, connect: float, read: float) -> str:
    """The message for a token request that got no answer (sending again may work)."""
    if error.kind == "timeout":
        return (
            f"the token endpoint {token_url} did not answer within {connect:.3g} s (connect) / "
            f"{read:.3g} s (read) ({error.detail}); it will be retried on the next request"
        )
    return (
        f"could not reach the token endpoint {token_url}: {error.detail}; check the network, "
        "proxies, the CA bundle and token_url"
    )


def text_of(headers: Mapping[str, str], content: bytes) -> str:
    """The answer's body as text, in the charset its ``Content-Type`` names (UTF-8 if none)."""
    charset = "utf-8"
    for part in headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ")
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def _load_json(text: str) -> tuple[Any, bool]:
    """``(value, True)``, or ``(None, False)`` for anything that is not usable JSON: invalid,
    nested deeper than the interpreter recurses, or numbers too long to convert."""
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return None, False


# Set in a worker thread that fetches for a task (see on_loop): how to run a coroutine on the
# task's event loop.
_for_loop = threading.local()


@contextlib.contextmanager
def on_loop(run: Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]) -> Iterator[None]:
    """In a worker thread fetching a token for a task: send token requests with the adapter's
    async side on the task's loop, through ``run`` (e.g. ``anyio.from_thread.run``), when the
    adapter has one (an async client's transport can only send there)."""
    _for_loop.run = run
    try:
        yield
    finally:
        _for_loop.run = None


def loop_runner() -> Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any] | None:
    """The ``run`` of :func:`on_loop` in this thread, if any."""
    return getattr(_for_loop, "run", None)


class _Answer:
    """One answer being judged: what every message needs (the endpoint, the secret to scrub)."""

    __slots__ = ("client_id", "secret", "status", "token_url")

    def __init__(self, token_url: str, client_id: str, secret: Secret, status: int) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.secret = secret
        self.status = status

    def scrub(self, text: str) -> str:
        return scrub(text, (self.secret.reveal(),))

    def broken(self, why: str) -> errors.TokenEndpointError:
        return errors.TokenEndpointError(why, status_code=self.status)


def read_token(
    status: int,
    headers: Mapping[str, str],
    text: str,
    scopes: tuple[str, ...],
    now: float,
    *,
    token_url: str,
    client_id: str,
    secret: Secret,
) -> Token:
    """What a token answer (already read) comes to: a token, or one of our errors. ``secret``
    (the client secret, wrapped so that no frame shows it) is scrubbed from every message.

    Raises:
        InvalidClientError, InvalidScopeError, RateLimitedError, TokenEndpointError,
        TokenRequestError: see :mod:`officernd_auth.errors`.
    """
    answer = _Answer(token_url, client_id, secret, status)
    snippet = answer.scrub(text)
    if status != 200:
        raise _error_for_status(answer, headers, text, snippet)
    payload, parsed = _load_json(text)
    if not parsed:
        raise answer.broken(
            f"the token endpoint answered HTTP 200 with a body that is not JSON: "
            f"{snippet!r}; check token_url points at /oauth/token"
        )
    if not isinstance(payload, dict):
        raise answer.broken(
            f"the token endpoint answered HTTP 200 with JSON that is not an object: {snippet!r}"
        )
    if "error" in payload:
        answer.status = 400
        error = _error_for_status(answer, headers, text, snippet, payload)
        raise error
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token.strip():
        fields = answer.scrub(", ".join(sorted(str(k) for k in payload)))
        raise answer.broken(
            "the token endpoint answered HTTP 200 without an access_token; "
            f"it sent the fields [{fields}]"
        )
    if not is_bearer_token(access_token):
        # A token that cannot go into an Authorization header would be cached for its whole
        # life and break every call; the token itself is never shown.
        raise answer.broken(
            "the token endpoint issued an access_token with characters a bearer token may "
            "not have (RFC 6750: letters, digits and -._~+/ then =); not used"
        )
    token_type = payload.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise answer.broken(
            f"the token endpoint issued a token of type {answer.scrub(str(token_type))!r}; "
            "only Bearer tokens are supported"
        )
    lifetime = _lifetime(answer, payload.get("expires_in", None), "expires_in" in payload)
    granted = payload.get("scope")
    if granted is None:
        # RFC 6749 3.3: no scope in the answer means the requested scope was granted.
        granted_scopes = frozenset(scopes)
    elif isinstance(granted, str):
        granted_scopes = frozenset(granted.split())
    elif isinstance(granted, list) and all(isinstance(s, str) for s in granted):
        granted_scopes = frozenset(s for item in granted for s in item.split())
    else:
        raise answer.broken(
            "the token endpoint answered with a scope that is neither a string nor a list"
        )
    _oauthlib_accepts(answer, access_token, lifetime)
    return Token(
        access_token=access_token,
        expires_at=now + lifetime,
        obtained_at=now,
        scopes=granted_scopes,
        token_type="Bearer",
    )


def _oauthlib_accepts(answer: _Answer, access_token: str, lifetime: float) -> None:
    """Let oauthlib parse what we have vetted too (a client made for it, then dropped).
    scope=None: oauthlib's own scope comparison raises a bare Warning; we compare as sets."""
    from oauthlib.oauth2 import BackendApplicationClient

    failure = ""
    try:
        BackendApplicationClient(answer.client_id).parse_request_body_response(
            json.dumps(
                {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}
            )
        )
    except Exception as exc:  # oauthlib raises OAuth2Error, ValueError or Warning
        failure = type(exc).__name__
    if failure:
        raise answer.broken(f"the token response could not be parsed ({failure})")


def _lifetime(answer: _Answer, value: object, present: bool) -> float:
    if not present or value is None:
        logger.warning(
            "the token response has no expires_in; assuming %d s as OfficeRND documents",
            DEFAULT_TOKEN_LIFETIME,
        )
        return DEFAULT_TOKEN_LIFETIME
    lifetime: float | None = None
    if isinstance(value, bool):
        lifetime = None
    elif isinstance(value, (int, float)):
        lifetime = float(value)
    elif isinstance(value, str):
        try:
            lifetime = float(value.strip())
        except ValueError:
            lifetime = None
    if lifetime is None or not math.isfinite(lifetime) or not 0 < lifetime <= _MAX_LIFETIME:
        raise answer.broken(
            f"the token endpoint sent an unusable expires_in ({answer.scrub(str(value))!r}); "
            "it must be a positive number of seconds"
        )
    return lifetime


def _error_for_status(
    answer: _Answer,
    headers: Mapping[str, str],
    text: str,
    snippet: str,
    payload: Mapping[str, Any] | None = None,
) -> errors.TokenRequestError:
    status = answer.status
    if payload is None:
        loaded, _ = _load_json(text)
        payload = loaded if isinstance(loaded, dict) else {}
    code = payload.get("error")
    code = answer.scrub(code) if isinstance(code, str) else None
    raw_description = payload.get("error_description")
    description = answer.scrub(raw_description) if isinstance(raw_description, str) else None
    said = f"{code}: {description}" if code and description else code or snippet or "no body"
    where = f"the token endpoint {answer.token_url} answered HTTP {status} ({said})"
    common: dict[str, Any] = {"status_code": status, "error": code, "description": description}
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        wait = f"wait {retry_after:.0f} s" if retry_after is not None else "wait a minute"
        return errors.RateLimitedError(
            f"{where}: OfficeRND allows 5 token requests a minute per client; {wait}, and "
            "share one session or auth object instead of creating a token per request",
            retry_after=retry_after,
            **common,
        )
    if status >= 500:
        return errors.TokenEndpointError(
            f"{where}: the identity server failed; try again in a moment", retryable=True, **common
        )
    cls = errors.error_class_for(code)
    if cls is errors.InvalidClientError or (code is None and status == 401):
        return errors.InvalidClientError(
            f"{where}: check the client id and secret (Settings -> Developer Tools -> "
            "Applications) and that token_url is the right environment",
            **common,
        )
    if cls is errors.InvalidScopeError:
        return errors.InvalidScopeError(f"{where}: {_INVALID_SCOPE_HINT}", **common)
    if 300 <= status < 400:
        return errors.TokenEndpointError(
            f"{where}: the token endpoint redirected; set token_url to the final URL "
            "(credentials are never sent after a redirect)",
            **common,
        )
    if status == 404:
        return errors.TokenEndpointError(
            f"{where}: there is no token endpoint at this address; check token_url (it "
            "ends in /oauth/token, e.g. https://identity.officernd.com/oauth/token)",
            **common,
        )
    if code is None and status not in (400, 401, 403):
        return errors.TokenEndpointError(f"{where}: not a usable token response", **common)
    return cls(f"{where}: the token request was refused", **common)
