"""The one place that talks to the token endpoint.

oauthlib's :class:`~oauthlib.oauth2.BackendApplicationClient` builds the client-credentials body
and parses the answer; this module sends it over a plain ``requests.Session`` of its own (never the
authorised one, so there is no recursion), checks the HTTP status before the body, and turns every
way the endpoint can fail into one of the :class:`~officernd_auth.errors.TokenRequestError` classes.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import requests
from oauthlib.oauth2 import BackendApplicationClient
from urllib3.exceptions import HTTPError as Urllib3Error

from .deadline import MAX_SERVER_WAIT, Deadline
from .errors import (
    InvalidClientError,
    InvalidScopeError,
    RateLimitedError,
    TokenEndpointError,
    TokenRequestError,
    error_class_for,
)
from .hints import network_cause
from .redact import mask_secrets, scrub, secret_forms
from .scopes import format_scopes
from .settings import DEFAULT_TOKEN_TIMEOUT, Settings, mask_client_id
from .token import BEARER_TOKEN, Token
from .transport import PlainTransport, Transport

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "MAX_RESPONSE_BYTES",
    "TokenClient",
    "mask_secrets",
    "parse_retry_after",
    "scrub",
    "secret_forms",
]

logger = logging.getLogger(__name__)

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


def _load_json(text: str) -> tuple[Any, bool]:
    """``(value, True)``, or ``(None, False)`` for anything that is not usable JSON: invalid,
    nested deeper than the interpreter recurses, or numbers too long to convert."""
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return None, False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header, given in seconds or as an HTTP date (RFC 9110
    section 10.2.3; a date already past is 0); at most ``MAX_SERVER_WAIT``. ``None`` if absent
    or unusable."""
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = _seconds_until(value)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_SERVER_WAIT)


def _seconds_until(http_date: str) -> float | None:
    from email.utils import parsedate_to_datetime  # only for the rare date form

    try:
        moment = parsedate_to_datetime(http_date.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, moment.timestamp() - time.time())


def _read_limited(response: requests.Response, deadline: float) -> tuple[bytes | None, str]:
    """The body, read as it arrives, at most ``MAX_RESPONSE_BYTES`` and until ``deadline``.

    Returns ``(body, "")``, or ``(None, why)`` for an answer too large, too slow or cut off.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        return None, f"sent an answer of {int(declared)} bytes, over the {_LIMIT_TEXT} limit"
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    failure = ""
    try:
        while True:
            # read1 returns what has arrived (a dripped body cannot hold one read open past
            # its socket timeout); plain read for urllib3 1.x, which lacks it.
            read1 = getattr(raw, "read1", None)
            chunk = read1(8192) if read1 is not None else raw.read(1024, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                failure = f"sent an answer over the {_LIMIT_TEXT} limit"
                break
            if time.monotonic() > deadline:
                failure = "answered too slowly (the whole answer must come within the read timeout)"
                break
    except (OSError, requests.RequestException, Urllib3Error) as exc:
        failure = f"dropped the connection mid-answer ({type(exc).__name__})"
    if failure:
        return None, failure
    return b"".join(chunks), ""


class TokenClient:
    """Fetches client-credentials tokens. One network attempt per :meth:`fetch_token` call.

    Retries, caching and budgets are the provider's business, not this class's.

    Args:
        token_url: the token endpoint.
        client_id: the application's client id.
        client_secret: the application's client secret. Kept out of ``repr`` and every error.
        timeout: ``(connect, read)`` seconds for the token request.
        transport: how the request travels (see :mod:`officernd_auth.transport`); a
            :class:`~officernd_auth.transport.PlainTransport` by default.
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
        transport: Transport | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.transport: Transport = transport if transport is not None else PlainTransport()

    @classmethod
    def from_settings(cls, settings: Settings, transport: Transport | None = None) -> TokenClient:
        """The client for a provider's ``settings``; without ``transport``, a
        :class:`~officernd_auth.transport.PlainTransport` with their TLS and proxy settings."""
        if transport is None:
            verify, cert, proxies = settings.verify, settings.cert, settings.proxies
            transport = PlainTransport.for_settings(verify, cert, proxies)
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
        if not isinstance(state["transport"], PlainTransport):
            state["transport"] = PlainTransport()  # a session's transport is re-attached by it
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

    def fetch_token(
        self,
        scopes: tuple[str, ...],
        now: float,
        *,
        deadline: Deadline | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Token:
        """Send one token request and return the token.

        The answer is read as a stream, at most :data:`MAX_RESPONSE_BYTES`, and the whole
        attempt takes at most the read timeout (or until ``deadline``, if sooner), however
        slowly the body arrives. Every error is raised outside any ``except`` block, so no
        exception of ``requests`` (whose request holds the secret in its body) rides along
        as ``__context__``.

        Args:
            scopes: the scopes to request.
            now: the current time (from the provider's clock), taken as the moment of issue.
            deadline: the call's :class:`~officernd_auth.deadline.Deadline`, which this attempt
                must not outlast.
            overrides: for this request only: ``timeout``, ``headers`` (added), ``verify``,
                ``cert``, ``proxies``.

        Raises:
            InvalidClientError, InvalidScopeError, RateLimitedError, TokenEndpointError,
            TokenRequestError: see :mod:`officernd_auth.errors`.
        """
        logger.debug(
            "requesting a token from %s for client %s, scope %r",
            self.token_url,
            mask_client_id(self.client_id),
            format_scopes(scopes),
        )
        overrides = dict(overrides or {})
        connect, read = self._timeouts(deadline, overrides.pop("timeout", None))
        self.transport.ready()
        started = time.monotonic()
        # Sent by a helper: the encoded body (with the secret) lives only in its frame, which
        # has returned before anything here can raise (error trackers record frames' locals).
        response, failure = self._send(scopes, connect, read, overrides)
        if response is None:
            # Nothing came back: sending again may work.
            raise TokenEndpointError(failure or "no answer from the token endpoint", retryable=True)
        try:
            content, failure = _read_limited(response, started + read)
        finally:
            response.close()
        if content is None:
            # A cut or dripping answer is a transport failure (retried); an oversized one is
            # the server's answer (retried only if its status is a 5xx).
            status, oversized = response.status_code, failure.startswith("sent an answer")
            raise TokenEndpointError(
                f"the token endpoint {self.token_url} {failure} (HTTP {status})",
                status_code=status if oversized else None,
                retryable=status >= 500 or not oversized,
            )
        response._content = content  # read already, within our limits; hooks may replace it
        response = self.transport.inspect(response)
        text = response.content.decode(response.encoding or "utf-8", errors="replace")
        return self.parse_response(response.status_code, response.headers, text, scopes, now)

    def _send(
        self, scopes: tuple[str, ...], connect: float, read: float, overrides: dict[str, Any]
    ) -> tuple[requests.Response | None, str | None]:
        """POST the token request: ``(response, None)``, or ``(None, why)`` when none came."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            # Never stored by a caching layer the user installed (requests-cache honours it).
            "Cache-Control": "no-store",
            **(overrides.pop("headers", None) or {}),
        }
        url, headers, body = self.transport.prepare(
            self.token_url, headers, self.build_body(scopes)
        )
        try:
            response = self.transport.send(
                url, headers, body, timeout=(connect, read), overrides=overrides
            )
        except requests.Timeout as exc:
            return None, (
                f"the token endpoint {self.token_url} did not answer within "
                f"{connect:.3g} s (connect) / {read:.3g} s (read) "
                f"({type(exc).__name__}); it will be retried on the next request"
            )
        except requests.RequestException as exc:
            return None, (
                f"could not reach the token endpoint {self.token_url}: "
                f"{network_cause(exc)}; check the network, proxies, the CA bundle and token_url"
            )
        return response, None

    def _timeouts(
        self, deadline: Deadline | None, timeout: float | tuple[float, float] | None = None
    ) -> tuple[float, float]:
        timeout = timeout if timeout is not None else self.timeout
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        return (connect, read) if deadline is None else deadline.bound(connect, read)

    def parse_response(
        self,
        status: int,
        headers: Mapping[str, str],
        text: str,
        scopes: tuple[str, ...],
        now: float,
    ) -> Token:
        """Turn a token response (already read) into a token, or into one of our errors.

        Raises:
            InvalidClientError, InvalidScopeError, RateLimitedError, TokenEndpointError,
            TokenRequestError: see :mod:`officernd_auth.errors`.
        """
        snippet = self._scrub(text)
        if status != 200:
            raise self._error_for_status(status, headers, text, snippet)
        payload, parsed = _load_json(text)
        if not parsed:
            raise TokenEndpointError(
                f"the token endpoint answered HTTP 200 with a body that is not JSON: "
                f"{snippet!r}; check token_url points at /oauth/token",
                status_code=status,
            )
        if not isinstance(payload, dict):
            raise TokenEndpointError(
                f"the token endpoint answered HTTP 200 with JSON that is not an object: "
                f"{snippet!r}",
                status_code=status,
            )
        if "error" in payload:
            raise self._error_for_status(400, headers, text, snippet, payload)
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token.strip():
            fields = self._scrub(", ".join(sorted(str(k) for k in payload)))
            raise TokenEndpointError(
                "the token endpoint answered HTTP 200 without an access_token; "
                f"it sent the fields [{fields}]",
                status_code=status,
            )
        if not BEARER_TOKEN.fullmatch(access_token):
            # A token that cannot go into an Authorization header would be cached for its whole
            # life and break every call; the token itself is never shown.
            raise TokenEndpointError(
                "the token endpoint issued an access_token with characters a bearer token may "
                "not have (RFC 6750: letters, digits and -._~+/ then =); not used",
                status_code=status,
            )
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenEndpointError(
                f"the token endpoint issued a token of type {self._scrub(str(token_type))!r}; "
                "only Bearer tokens are supported",
                status_code=status,
            )
        lifetime = self._lifetime(payload.get("expires_in", None), "expires_in" in payload)
        granted = payload.get("scope")
        if granted is None:
            # RFC 6749 3.3: no scope in the answer means the requested scope was granted.
            granted_scopes = frozenset(scopes)
        elif isinstance(granted, str):
            granted_scopes = frozenset(granted.split())
        elif isinstance(granted, list) and all(isinstance(s, str) for s in granted):
            granted_scopes = frozenset(s for item in granted for s in item.split())
        else:
            raise TokenEndpointError(
                "the token endpoint answered with a scope that is neither a string nor a list",
                status_code=status,
            )
        # Let oauthlib parse what we have vetted too (a client made for it, then dropped).
        # scope=None: oauthlib's own scope comparison raises a bare Warning; we compare as sets.
        failure = ""
        try:
            BackendApplicationClient(self.client_id).parse_request_body_response(
                json.dumps(
                    {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}
                )
            )
        except Exception as exc:  # oauthlib raises OAuth2Error, ValueError or Warning
            failure = type(exc).__name__
        if failure:
            raise TokenEndpointError(
                f"the token response could not be parsed ({failure})", status_code=status
            )
        return Token(
            access_token=access_token,
            expires_at=now + lifetime,
            obtained_at=now,
            scopes=granted_scopes,
            token_type="Bearer",
        )

    def _scrub(self, text: str) -> str:
        return scrub(text, (self._client_secret,))

    def _lifetime(self, value: object, present: bool) -> float:
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
            raise TokenEndpointError(
                f"the token endpoint sent an unusable expires_in ({self._scrub(str(value))!r}); "
                "it must be a positive number of seconds",
                status_code=200,
            )
        return lifetime

    def _error_for_status(
        self,
        status: int,
        headers: Mapping[str, str],
        text: str,
        snippet: str,
        payload: Mapping[str, Any] | None = None,
    ) -> TokenRequestError:
        if payload is None:
            loaded, _ = _load_json(text)
            payload = loaded if isinstance(loaded, dict) else {}
        code = payload.get("error")
        code = self._scrub(code) if isinstance(code, str) else None
        raw_description = payload.get("error_description")
        description = self._scrub(raw_description) if isinstance(raw_description, str) else None
        said = f"{code}: {description}" if code and description else code or snippet or "no body"
        where = f"the token endpoint {self.token_url} answered HTTP {status} ({said})"
        common: dict[str, Any] = {
            "status_code": status,
            "error": code,
            "description": description,
        }
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            wait = f"wait {retry_after:.0f} s" if retry_after is not None else "wait a minute"
            return RateLimitedError(
                f"{where}: OfficeRND allows 5 token requests a minute per client; {wait}, and "
                "share one session or auth object instead of creating a token per request",
                retry_after=retry_after,
                **common,
            )
        if status >= 500:
            return TokenEndpointError(
                f"{where}: the identity server failed; try again in a moment",
                retryable=True,
                **common,
            )
        cls = error_class_for(code)
        if cls is InvalidClientError or (code is None and status == 401):
            return InvalidClientError(
                f"{where}: check the client id and secret (Settings -> Developer Tools -> "
                "Applications) and that token_url is the right environment",
                **common,
            )
        if cls is InvalidScopeError:
            return InvalidScopeError(f"{where}: {_INVALID_SCOPE_HINT}", **common)
        if 300 <= status < 400:
            return TokenEndpointError(
                f"{where}: the token endpoint redirected; set token_url to the final URL "
                "(credentials are never sent after a redirect)",
                **common,
            )
        if status == 404:
            return TokenEndpointError(
                f"{where}: there is no token endpoint at this address; check token_url (it "
                "ends in /oauth/token, e.g. https://identity.officernd.com/oauth/token)",
                **common,
            )
        if code is None and status not in (400, 401, 403):
            return TokenEndpointError(f"{where}: not a usable token response", **common)
        return cls(f"{where}: the token request was refused", **common)
