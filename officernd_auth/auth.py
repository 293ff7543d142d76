"""``OfficeRNDAuth``: a ``requests`` auth object that adds the bearer token and heals one 401.

Like requests' own Digest auth, it is a small callable plus a response hook: on a 401 it asks the
provider to forget the token that was sent, takes a fresh one, rewinds the body and re-sends once,
keeping the failed response in ``history``. A second 401 is handed back as it is.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar

from .cache import TokenCache
from .config import (
    DEFAULT_TOKEN_URL,
    check_url,
    is_loopback,
    origin_of,
    required_setting,
    setting,
)
from .provider import OFFICERND_TOKEN_BUDGET, TokenProvider
from .scopes import check_scopes, parse_scopes, required_scope
from .token import Clock, system_clock

__all__ = ["DEFAULT_ALLOWED_HOSTS", "OfficeRNDAuth"]

logger = logging.getLogger(__name__)

#: The hosts OfficeRND serves its API from; the token goes to no other host by default.
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("app.officernd.com", "staging.officernd.com")

_API_PATH = re.compile(r"/api/(?P<version>v[12])/organizations/[^/]+/(?P<resource>[^/?#]+)")
_BODY_POSITION = "_officernd_body_position"


def build_provider(
    client_id: str | None,
    client_secret: str | None,
    scope: str | Iterable[str] | None,
    *,
    token_url: str | None,
    api_version: str | None,
    **provider_kwargs: Any,
) -> TokenProvider:
    """Resolve arguments and environment, validate them, and make the provider. No network I/O."""
    client_id = required_setting("client_id", client_id)
    client_secret = required_setting("client_secret", client_secret)
    if scope is None:
        scope = required_setting("scope", None)
    token_url = check_url(
        "token_url", setting("token_url", token_url, required=False) or DEFAULT_TOKEN_URL
    )
    scopes = parse_scopes(scope)
    check_scopes(scopes, api_version)
    return TokenProvider(client_id, client_secret, scopes, token_url=token_url, **provider_kwargs)


class OfficeRNDAuth(AuthBase):
    """Authenticate any ``requests`` call to OfficeRND with a cached, self-renewing token.

    Arguments default to the ``OFFICERND_*`` environment variables. Constructing does no network
    I/O; the first request fetches a token, later ones reuse it until it nears expiry.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        token_url: token endpoint (``OFFICERND_TOKEN_URL``); https, or http on loopback only.
        leeway: renew this many seconds before expiry.
        token_cache: a :class:`~officernd_auth.cache.TokenCache`, a directory (file cache) or a
            ``redis://`` URL; ``$OFFICERND_TOKEN_CACHE`` if set, else process memory.
        allowed_hosts: the hosts that receive the token, as ``"host"`` (its default port) or
            ``"host:port"``; requests to others go out without it. OfficeRND's API hosts and
            the host of ``OFFICERND_API_URL`` by default.
        api_version: ``"v1"`` or ``"v2"`` to check the scopes fit that API; ``None`` skips it.
        clock: time source (seconds since the epoch), for tests.
        token_budget: most token requests per minute (OfficeRND allows 5); ``None`` for no limit.
        strict_scopes: raise if fewer scopes are granted than requested (else warn).
        max_token_retries: how often a 5xx or transport failure of the token endpoint is
            retried, with exponential backoff and jitter, inside the token budget.
        token_timeout: ``(connect, read)`` seconds for one token request.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share; the
            credential arguments are then ignored.
        **provider_kwargs: further :class:`~officernd_auth.provider.TokenProvider` options.

    Example:
        >>> import requests
        >>> auth = OfficeRNDAuth("my-id", "my-secret", "flex.community.members.read")
        >>> # requests.get("https://app.officernd.com/api/v2/organizations/acme/members", auth=auth)
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        token_url: str | None = None,
        leeway: float = 60.0,
        token_cache: TokenCache | str | os.PathLike[str] | None = None,
        allowed_hosts: Iterable[str] | None = None,
        api_version: str | None = None,
        clock: Clock = system_clock,
        token_budget: int | None = OFFICERND_TOKEN_BUDGET,
        strict_scopes: bool = True,
        max_token_retries: int = 2,
        token_timeout: float | tuple[float, float] = (5.0, 30.0),
        provider: TokenProvider | None = None,
        **provider_kwargs: Any,
    ) -> None:
        if provider is None:
            provider = build_provider(
                client_id,
                client_secret,
                scope,
                token_url=token_url,
                api_version=api_version,
                leeway=leeway,
                token_cache=token_cache,
                clock=clock,
                token_budget=token_budget,
                strict_scopes=strict_scopes,
                max_retries=max_token_retries,
                timeout=token_timeout,
                **provider_kwargs,
            )
        self.provider = provider
        if allowed_hosts is None:
            hosts = list(DEFAULT_ALLOWED_HOSTS)
            api_url = setting("api_url", None, required=False)
            if api_url:
                parts = urlsplit(check_url("api_url", api_url))
                hosts.append(parts.netloc)
            allowed_hosts = hosts
        elif isinstance(allowed_hosts, str):
            allowed_hosts = [allowed_hosts]
        self.allowed_hosts = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        self._decided: dict[str, bool] = {}

    def __repr__(self) -> str:
        return (
            f"<OfficeRNDAuth client_id={self.provider.client_id!r} "
            f"hosts={sorted(self.allowed_hosts)!r}>"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, OfficeRNDAuth)
            and other.provider.key == self.provider.key
            and other.allowed_hosts == self.allowed_hosts
        )

    def __hash__(self) -> int:
        return hash((self.provider.key, self.allowed_hosts))

    def allows(self, url: str | None) -> bool:
        """True when ``url`` may receive the token: an allowed host, https (http on loopback)."""
        if not url:
            return False
        # The answer depends only on what comes before the path, so it is remembered per
        # prefix: parsing every URL would cost more than the rest of the auth step together.
        start = url.find("//")
        end = url.find("/", start + 2) if start >= 0 else -1
        prefix = url if end < 0 else url[:end]
        known = self._decided.get(prefix)
        if known is None:
            known = self._allows_origin(prefix)
            if len(self._decided) < 64:
                self._decided[prefix] = known
        return known

    def _allows_origin(self, url: str) -> bool:
        scheme, host, port = origin_of(url)
        if scheme != "https" and not (scheme == "http" and is_loopback(host)):
            return False
        if f"{host}:{port}" in self.allowed_hosts:
            return True
        # A bare host name means its default port: https://host:8443 is another server.
        return host in self.allowed_hosts and port == (443 if scheme == "https" else 80)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.allows(request.url):
            logger.debug("not sending the token to %s: host not allowed", _where(request.url))
            return request
        request.headers["Authorization"] = self.provider.get_token().authorization
        body = request.body
        if body is not None and hasattr(body, "tell"):
            try:
                setattr(request, _BODY_POSITION, body.tell())
            except OSError:
                setattr(request, _BODY_POSITION, None)
        # What register_hook does, without its per-call isinstance(Callable) check.
        request.hooks["response"].append(self.handle_401)
        return request

    def handle_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: on a 401, renew the token once and re-send the request."""
        if response.status_code != 401:
            return response
        request = response.request
        if not self.allows(request.url):
            return response
        used = request.headers.get("Authorization")
        call = (request.method or "GET", _where(request.url))
        if self.provider.is_denied(used, call):
            # This token was refused for this call just after it was issued: another token
            # would be refused too and would spend one of the 5 token requests a minute.
            self._warn_scope(request)
            return response
        if not self._rewind(request):
            return response
        self.provider.invalidate(used)
        token = self.provider.get_token()
        # Release the connection before re-sending on it.
        _ = response.content
        response.close()
        retry = request.copy()
        retry.hooks = {
            event: [hook for hook in hooks if hook != self.handle_401]
            for event, hooks in request.hooks.items()
        }
        cookies = retry._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(cookies, request, response.raw)  # type: ignore[no-untyped-call]
        retry.prepare_cookies(cookies)
        retry.headers["Authorization"] = token.authorization
        connection = response.connection
        second: requests.Response = connection.send(retry, **kwargs)
        second.history.append(response)
        second.request = retry
        if second.status_code == 401:
            self.provider.mark_denied(token.authorization, call)
            self._warn_scope(request)
        return second

    def _warn_scope(self, request: requests.PreparedRequest) -> None:
        logger.warning(
            "%s %s answered 401 to a freshly issued token: the token is valid, so it probably "
            "lacks the scope for this call%s. Grant it under Settings -> Developer Tools -> "
            "Applications -> Configure and add it to scope.",
            request.method,
            _where(request.url),
            _needed_scope(request),
        )

    def _rewind(self, request: requests.PreparedRequest) -> bool:
        body: object = request.body  # typed bytes | str, but requests also sends file objects
        if body is None or isinstance(body, (bytes, str)):
            return True
        position = getattr(request, _BODY_POSITION, None)
        seek = getattr(body, "seek", None)
        if seek is not None and position is not None:
            seek(position)
            return True
        logger.warning(
            "%s %s answered 401 but its streamed body cannot be re-sent; returning the 401",
            request.method,
            _where(request.url),
        )
        return False


def _where(url: str | None) -> str:
    """The URL without its query string, for log lines."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _needed_scope(request: requests.PreparedRequest) -> str:
    match = _API_PATH.search(urlsplit(request.url or "").path)
    if match is None:
        return ""
    scope = required_scope(request.method or "GET", match["version"], match["resource"])
    return f" (it needs {scope})" if scope else ""
