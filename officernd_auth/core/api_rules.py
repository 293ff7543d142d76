"""Which URLs receive the token, and when a 401 is worth a new one: the rules every front end
applies (requests' and httpx's ``OfficeRNDAuth`` and the clients built on them), in one mixin that
imports no HTTP library.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..events import emit
from ..values.interning import same
from ..values.urls import check_url, is_loopback, origin_of, url_path
from .hints import needed_scope
from .settings import front_end_setting

if TYPE_CHECKING:
    from .provider import TokenProvider

__all__ = ["DEFAULT_ALLOWED_HOSTS", "ApiRules"]

logger = logging.getLogger("officernd_auth.auth")

#: The hosts OfficeRND serves its API from; the token goes to no other host by default.
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("app.officernd.com", "staging.officernd.com")

#: The empty set every new object starts with (one object, not one per tenant).
_NOTHING: frozenset[Any] = frozenset()
#: No call refused to a fresh token yet.
_NOT_DENIED: tuple[str, frozenset[tuple[str, str]]] = ("", _NOTHING)


# The answer depends only on the URL's origin and the two sets, so it is remembered per
# prefix for every object alike: parsing every URL would cost more than the rest of the auth step.
@lru_cache(maxsize=1024)
def _allows_origin(
    url: str, allowed_hosts: frozenset[str], allowed_origins: frozenset[tuple[str, str, int]]
) -> bool:
    scheme, host, port = origin_of(url)
    if scheme != "https" and not (scheme == "http" and is_loopback(host)):
        return False
    if (scheme, host, port) in allowed_origins:
        return True
    if f"{host}:{port}" in allowed_hosts:
        return True
    # A bare host name means its default port: https://host:8443 is another server.
    return host in allowed_hosts and port == (443 if scheme == "https" else 80)


class ApiRules:
    """The token's destinations and the 401 decisions of one front-end object, over its
    ``_provider``.

    Attributes:
        allowed_hosts: the hosts that receive the token, as ``"host"`` or ``"host:port"``.
        allowed_origins: origins (scheme, host, port) allowed exactly, from ``api_url``.
    """

    _provider: TokenProvider
    allowed_hosts: frozenset[str]
    allowed_origins: frozenset[tuple[str, str, int]]
    _last_allowed: str

    # Set on an object only when they change (most objects never: 8 bytes each of a tenant's
    # memory, benchmarks table 5c); replaced, never changed in place.
    #: Calls (method, path) answered 401 right after the token was issued: the token is valid
    #: but short of a scope there, so another 401 for the same call and token is not worth a
    #: token request. Any other call's 401 with that token is still healed (revocation).
    _denied: tuple[str, frozenset[tuple[str, str]]] = _NOT_DENIED
    #: Origins already told (once) how to allow them.
    _warned_origins: frozenset[str] = _NOTHING

    def _init_rules(self, api_url: str | None, allowed_hosts: Iterable[str] | None) -> None:
        if allowed_hosts is None:
            hosts = list(DEFAULT_ALLOWED_HOSTS)
        elif isinstance(allowed_hosts, str):
            hosts = [allowed_hosts]
        else:
            hosts = list(allowed_hosts)
        if api_url is None and allowed_hosts is None:
            api_url = front_end_setting("api_url", None)
        # Shared between objects with the same hosts: one frozenset, not one per tenant.
        self.allowed_hosts = same(frozenset(h.strip().lower() for h in hosts if h.strip()))
        self.allowed_origins = same(
            frozenset([origin_of(check_url("api_url", api_url))] if api_url else [])
        )
        self._last_allowed = "\x00"  # no URL starts with it

    def allows(self, url: str | None) -> bool:
        """True when ``url`` may receive the token: an allowed host, https (http on loopback)."""
        if not url:
            return False
        # The origin of the last allowed URL, up to and with its first "/": one string test
        # per request instead of slicing the URL and a cached call.
        if url.startswith(self._last_allowed):
            return True
        # Only what comes before the path decides.
        start = url.find("//")
        end = url.find("/", start + 2) if start >= 0 else -1
        prefix = url if end < 0 else url[:end]
        known = _allows_origin(prefix, self.allowed_hosts, self.allowed_origins)
        if known and end >= 0:
            self._last_allowed = same(prefix + "/")
        return known

    def worth_healing(self, method: str, url: str, sent: str | None) -> bool:
        """Whether a 401 answer to ``method url``, sent with the ``Authorization`` value
        ``sent``, is worth a new token and one re-send (any front end's 401 handling asks
        this). Not when the URL was not allowed the token (a warning, once per origin, says how
        to allow it), when the call went without our token (a redirect off the API host and
        back drops it: the 401 says nothing about the token), or when this token was already
        refused for this call right after it was issued (it lacks a scope: another token would
        be refused too and spend one of the 5 token requests a minute; a warning names the
        scope)."""
        if not self.allows(url):
            self._warn_withheld(url)
            return False
        if sent is None:
            logger.debug("%s answered 401 to a request without the token", url_path(url))
            return False
        call = (method, url_path(url))
        if self._is_denied(sent, call) and self._still_current(sent):
            # (Once the process holds another token, the call is tried with that one.)
            self._warn_scope(method, url)
            return False
        return True

    def healed(self, method: str) -> None:
        """Say that an API 401 made this object forget its token and take the next one (the
        ``token.healed_401`` event), before the call is sent again."""
        emit("token.healed_401", self._provider.application, method=method)

    def refused_again(self, method: str, url: str, authorization: str) -> None:
        """A call re-sent with a freshly issued token (``authorization``) got a 401 again:
        remember it, so that the same call with this token spends no further token request,
        and say which scope it probably lacks."""
        self._mark_denied(authorization, (method, url_path(url)))
        self._warn_scope(method, url)

    def _mark_denied(self, authorization: str, call: tuple[str, str]) -> None:
        """Remember that a freshly issued token was refused for ``call`` (method, path)."""
        token, calls = self._denied
        if token != authorization:
            calls = _NOTHING
        if len(calls) < 256:
            calls = calls | {call}  # a new set: another thread may be reading the old one
        self._denied = (authorization, calls)

    def _still_current(self, authorization: str) -> bool:
        token = self._provider.fresh_token()
        return token is not None and token.authorization == authorization

    def _is_denied(self, authorization: str | None, call: tuple[str, str]) -> bool:
        """True when this token was already refused for this call right after it was issued."""
        token, calls = self._denied
        return authorization == token and call in calls

    def _warn_withheld(self, url: str) -> None:
        """A request we sent without the token got a 401: say once per origin how to allow it."""
        scheme, host, port = origin_of(url)
        origin = f"{scheme}://{host}:{port}"
        if origin in self._warned_origins or len(self._warned_origins) >= 64:
            return
        self._warned_origins = self._warned_origins | {origin}
        logger.warning(
            "%s answered 401 to a request sent without the token, because %s is not an allowed "
            "API origin. If it is your OfficeRND API (a staging host or the emulator), pass "
            "api_url=%r or allowed_hosts=[%r].",
            url_path(url),
            origin,
            f"{scheme}://{host}:{port}",
            f"{host}:{port}",
        )

    def _warn_scope(self, method: str, url: str) -> None:
        logger.warning(
            "%s %s answered 401 to a freshly issued token: the token is valid, so it probably "
            "lacks the scope for this call%s. Grant it under Settings -> Developer Tools -> "
            "Applications -> Configure and add it to scope.",
            method,
            url_path(url),
            _needed_scope(method, url),
        )


def _needed_scope(method: str, url: str) -> str:
    scope = needed_scope(method, url)
    return f" (it needs {scope})" if scope else ""
