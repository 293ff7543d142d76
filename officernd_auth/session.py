"""``OfficeRNDSession``: a ``requests.Session`` for one OfficeRND organisation.

It resolves short paths against the organisation, applies a default timeout, pages through lists
and retries an API 429 on idempotent calls. It has no token logic of its own: it delegates to an
:class:`~officernd_auth.auth.OfficeRNDAuth` scoped to the API origin, which asks the provider.
"""

from __future__ import annotations

import html
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from .auth import OfficeRNDAuth, build_provider
from .cache import TokenCache
from .client import parse_retry_after
from .config import DEFAULT_API_URL, check_url, mask_client_id, setting
from .errors import ConfigurationError
from .provider import OFFICERND_TOKEN_BUDGET, TokenProvider
from .token import Clock, Token, system_clock

__all__ = ["DEFAULT_TIMEOUT", "OfficeRNDSession"]

logger = logging.getLogger(__name__)

#: ``(connect, read)`` seconds applied when a call passes no timeout.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PAGE_SIZE = {"v1": 100, "v2": 50}
_ESCAPES = re.compile(r"%2f|%5c|\\", re.IGNORECASE)
# Paths made of plain segments cannot leave the organisation and need no further checks.
_PLAIN_PATH = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*/?")


class OfficeRNDSession(OAuth2Session):
    """A ``requests.Session`` that is authorised for one OfficeRND organisation.

    A subclass of ``requests_oauthlib.OAuth2Session`` on ``BackendApplicationClient``; tokens
    are fetched, cached and renewed by themselves. Arguments default to the ``OFFICERND_*``
    environment variables. Constructing does no network I/O.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        org: the organisation slug (``OFFICERND_ORG``), needed for short paths.
        api_version: ``"v2"`` (Flex, default) or ``"v1"`` (Hybrid).
        api_url: the API origin (``OFFICERND_API_URL``); https, or http on loopback only.
        token_url: the token endpoint (``OFFICERND_TOKEN_URL``).
        leeway: renew the token this many seconds before it expires.
        timeout: applied to every call that passes none.
        token_cache: a :class:`~officernd_auth.cache.TokenCache`, a directory (file cache) or a
            ``redis://`` URL; ``$OFFICERND_TOKEN_CACHE`` if set, else process memory.
        clock: time source, for tests.
        token_budget: most token requests per minute (OfficeRND allows 5); ``None`` for no limit.
        strict_scopes: raise if fewer scopes are granted than requested (else warn).
        max_token_retries: how often a 5xx or transport failure of the token endpoint is
            retried, with exponential backoff and jitter, inside the token budget.
        token_timeout: ``(connect, read)`` seconds for one token request.
        sleep: how to wait between retries (tests pass a recorder).
        max_rate_limit_retries: how often an API 429 on an idempotent call is retried.
        max_retry_after: the longest ``Retry-After`` (seconds) that is waited for.
        **oauth2session_kwargs: passed to ``OAuth2Session``.

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
        api_version: str = "v2",
        api_url: str | None = None,
        token_url: str | None = None,
        leeway: float = 60.0,
        timeout: float | tuple[float, float] | None = DEFAULT_TIMEOUT,
        token_cache: TokenCache | str | os.PathLike[str] | None = None,
        clock: Clock = system_clock,
        token_budget: int | None = OFFICERND_TOKEN_BUDGET,
        strict_scopes: bool = True,
        max_token_retries: int = 2,
        token_timeout: float | tuple[float, float] = (5.0, 30.0),
        max_rate_limit_retries: int = 2,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        **oauth2session_kwargs: Any,
    ) -> None:
        if api_version not in ("v1", "v2"):
            raise ConfigurationError(f"api_version must be 'v1' or 'v2', got {api_version!r}")
        resolved_api_url = check_url(
            "api_url", setting("api_url", api_url, required=False) or DEFAULT_API_URL
        )
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
            sleep=sleep,
        )
        self.org = setting("org", org, required=False)
        if self.org is not None and (not self.org or "/" in self.org or self.org in {".", ".."}):
            raise ConfigurationError(
                f"org {self.org!r} is not an organisation slug: use the path segment of your "
                "admin portal, app.officernd.com/<slug>"
            )
        self.api_version = api_version
        self.api_url = resolved_api_url
        self.default_timeout = timeout
        self.max_rate_limit_retries = max(0, int(max_rate_limit_retries))
        self.max_retry_after = float(max_retry_after)
        self._sleep = sleep
        self._officernd_auth = OfficeRNDAuth(
            provider=provider, allowed_hosts=[urlsplit(resolved_api_url).netloc]
        )
        super().__init__(
            client=BackendApplicationClient(provider.client_id),
            scope=list(provider.scopes),
            **oauth2session_kwargs,
        )
        # Session-level auth: requests then skips its .netrc lookup, and per-call auth= wins.
        self.auth = self._officernd_auth

    # -- OAuth2Session surface ----------------------------------------------------------------

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` that owns this session's token."""
        return self._officernd_auth.provider

    @property
    def token(self) -> dict[str, Any]:
        """The current token as a dict (``access_token``, ``expires_in``, ...); ``{}`` if none."""
        auth = self.__dict__.get("_officernd_auth")
        token: Token | None = auth.provider.current_token() if auth else None
        return token.to_dict(auth.provider.clock()) if auth and token else {}

    @token.setter
    def token(self, value: Mapping[str, Any] | None) -> None:
        # OAuth2Session.__init__ assigns {}; a real dict seeds the cache with a known token.
        if not value:
            return
        access_token = value.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ConfigurationError("a token dict needs a non-empty 'access_token'")
        now = self.provider.clock()
        expires_at = value.get("expires_at")
        if not isinstance(expires_at, (int, float)):
            expires_at = now + float(value.get("expires_in", 3599))
        scopes = value.get("scope", self.provider.scopes)
        scope_set = frozenset(scopes.split() if isinstance(scopes, str) else scopes)
        self.provider.token_cache.set(
            self.provider.key,
            Token(access_token, float(expires_at), now, scope_set),
        )

    @property
    def access_token(self) -> str | None:
        """The current access token string, or ``None`` when none is cached."""
        token = self.provider.current_token()
        return token.access_token if token else None

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.token = {"access_token": value}

    @property
    def authorized(self) -> bool:
        """True when a token is cached and not yet expiring."""
        token = self.provider.current_token()
        return token is not None and not token.is_expired(
            self.provider.clock(), self.provider.leeway
        )

    def fetch_token(self, token_url: str | None = None, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Fetch a new token now, whatever the cache holds, and return it as a dict.

        Needs no arguments: the session already knows its endpoint and credentials. The token
        budget still applies.
        """
        if token_url is not None and token_url.rstrip("/") != self.provider.token_url:
            raise ConfigurationError(
                "this session fetches from its own token_url; create another session for "
                "another endpoint"
            )
        token: Token = self.provider.fetch_token()
        return token.to_dict(self.provider.clock())

    def refresh_token(self, token_url: str | None = None, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Client credentials have no refresh token: this fetches a new token instead."""
        return self.fetch_token(token_url)

    # -- requests -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``{api_url}/api/{api_version}/organizations/{org}``.

        Raises:
            ConfigurationError: no organisation was given.
        """
        if not self.org:
            raise ConfigurationError(
                "org is missing: pass org=... or set OFFICERND_ORG to resolve short paths "
                "(or call with an absolute URL)"
            )
        return f"{self.api_url}/api/{self.api_version}/organizations/{self.org}"

    def url_for(self, path: str) -> str:
        """Resolve ``path`` inside the organisation; absolute URLs come back unchanged.

        Raises:
            ValueError: the path tries to leave the organisation (``..``, ``//host``, encoded
                slashes); use an absolute URL for anything outside it.
        """
        if path.startswith(("https://", "http://")):
            return path  # absolute: the common case, decided without parsing
        if _PLAIN_PATH.fullmatch(path):
            return f"{self.base_url}/{path.lstrip('/')}"  # nothing to escape with: no parsing
        parts = urlsplit(path)
        if parts.scheme and parts.netloc:
            return path
        if path.startswith("//") or parts.scheme:
            raise ValueError(
                f"{path!r} is neither a path nor an absolute URL: write 'https://host/...' for "
                "another host, or a path such as 'members'"
            )
        segments = unquote(parts.path).split("/")
        if any(s in {".", ".."} for s in segments) or _ESCAPES.search(parts.path):
            raise ValueError(
                f"path {path!r} tries to leave the organisation: use an absolute URL for "
                "resources outside it"
            )
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Like ``requests.Session.request``, with short paths resolved and a default timeout.

        An API 429 on an idempotent method (GET, HEAD, OPTIONS, PUT, DELETE) is retried after its
        ``Retry-After`` (at most ``max_retry_after`` s, ``max_rate_limit_retries`` times).
        """
        url = self.url_for(url)
        if kwargs.get("timeout") is None and self.default_timeout is not None:
            kwargs["timeout"] = self.default_timeout
        # Skip OAuth2Session.request: it would add the token itself, insist on https through a
        # process-wide switch and log the token at DEBUG. Our auth object does the first.
        response = requests.Session.request(self, method, url, *args, **kwargs)
        if response.status_code == 429 and method.upper() in _IDEMPOTENT:
            return self._retry_rate_limited(response, method, url, args, kwargs)
        return response

    def _retry_rate_limited(
        self,
        response: requests.Response,
        method: str,
        url: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        for attempt in range(self.max_rate_limit_retries):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            wait = min(wait if wait is not None else 2.0**attempt, self.max_retry_after)
            logger.warning("%s %s answered 429; retrying in %.1f s", method, _path(url), wait)
            response.close()
            self._sleep(wait)
            response = requests.Session.request(self, method, url, *args, **kwargs)
            if response.status_code != 429:
                break
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
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[Any]:
        """Yield every item of a list, following the cursors page by page.

        v2 pages with ``$limit`` (at most 50) and ``$cursorNext``; v1 with ``$limit`` (at most
        100) and ``$next`` from the ``rnd-cursor-next`` header.

        Raises:
            requests.HTTPError: a page answered with an error status.

        Example:
            >>> # for member in session.paginate("members", {"status": "active"}): ...
        """
        query: dict[str, Any] = dict(params or {})
        query.setdefault("$limit", page_size or _PAGE_SIZE[self.api_version])
        while True:
            response = self.get(path, params=query)
            response.raise_for_status()
            body = response.json()
            if isinstance(body, list):
                yield from body
                cursor = response.headers.get("rnd-cursor-next")
                if not cursor or not body:
                    return
                query["$next"] = cursor
            elif isinstance(body, dict) and isinstance(body.get("results"), list):
                yield from body["results"]
                cursor = body.get("cursorNext")
                if not cursor or not body["results"]:
                    return
                query["$cursorNext"] = cursor
            else:
                raise ValueError(
                    f"{path!r} did not answer with a list (got {type(body).__name__}); "
                    "paginate() is for list endpoints"
                )

    # -- presentation and pickling ------------------------------------------------------------

    def _token_state(self) -> tuple[str, int]:
        provider = self.provider
        token = provider.current_token()
        now = provider.clock()
        if token is None:
            state = "none"
        elif token.is_expired(now):
            state = "expired"
        else:
            state = f"valid for {max(0, int(token.expires_in(now) // 60))} min"
        return state, provider.token_requests

    def __repr__(self) -> str:
        state, requests_made = self._token_state()
        return (
            f"<OfficeRNDSession org={self.org!r} api={self.api_version} "
            f"client_id={mask_client_id(self.provider.client_id)!r} "
            f"scope={' '.join(self.provider.scopes)!r} "
            f"token={state} token_requests={requests_made}>"
        )

    def _repr_html_(self) -> str:
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
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _path(url: str) -> str:
    """The URL without its query string, for log lines."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
