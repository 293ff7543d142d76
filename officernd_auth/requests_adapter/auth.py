"""``OfficeRNDAuth``: a ``requests`` auth object that adds the bearer token and heals one 401.

Like requests' own Digest auth, it is a small callable plus a response hook: on a 401 it asks the
provider to forget the token that was sent, takes a fresh one, rewinds the body and re-sends once,
keeping the failed response in ``history``. A second 401 is handed back as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import requests
from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict

from ..core.api_rules import DEFAULT_ALLOWED_HOSTS, ApiRules
from ..core.provider import TokenProvider, resolve_provider
from ..core.settings import ProviderOptions, with_provider_options
from ..values.deadline import Deadline
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.urls import url_path
from .transport import PlainTransport, SessionTransport

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = ["DEFAULT_ALLOWED_HOSTS", "OfficeRNDAuth"]

logger = logging.getLogger("officernd_auth.auth")

_BODY_POSITION = "_officernd_body_position"
#: A keyword requests did not pass to the response hook.
_UNSET: Any = object()


@with_provider_options
class OfficeRNDAuth(ApiRules, AuthBase):
    """Authenticate any ``requests`` call to OfficeRND with a cached, self-renewing token.

    Arguments default to the ``OFFICERND_*`` environment variables. Constructing does no network
    I/O; the first request fetches a token, later ones reuse it until it nears expiry. The token
    goes only to the allowed API origins; other requests go out without it.

    Args:
        client_id: the application's client id (``OFFICERND_CLIENT_ID``).
        client_secret: its secret (``OFFICERND_CLIENT_SECRET``); never shown anywhere.
        scope: space-separated string or list (``OFFICERND_SCOPE``).
        api_url: an API origin that receives the token, scheme, host and port exactly (like the
            session's ``api_url``); ``OFFICERND_API_URL`` when neither this nor
            ``allowed_hosts`` is given. OfficeRND's own API hosts are always allowed unless
            ``allowed_hosts`` says otherwise.
        allowed_hosts: the hosts that receive the token, as ``"host"`` (its default port) or
            ``"host:port"``; by default OfficeRND's API hosts.
        provider: an existing :class:`~officernd_auth.provider.TokenProvider` to share, instead
            of credentials and provider options.
        session: a ``requests.Session`` whose transport the token requests use (its adapters,
            ``proxies``, ``verify``, ``cert`` and, with ``trust_env``, the environment), never
            its auth or hooks. Without it, token requests honour ``verify``, ``cert``,
            ``proxies`` and the environment as requests does.
        {provider_options}

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
        api_url: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        provider: TokenProvider | None = None,
        session: requests.Session | None = None,
        **options: Unpack[ProviderOptions],
    ) -> None:
        """Build the adapter; see the class documentation for the arguments."""
        secret = Secret.wrap(client_secret)  # no frame holds the secret as text
        del client_secret
        self._provider = resolve_provider(
            client_id, secret, scope, provider=provider, where="OfficeRNDAuth()", **options
        )
        self._init_rules(api_url, allowed_hosts)
        # Made once: what register_hook would add on every call (a bound method: 64 bytes).
        self._hook = self._on_response
        self._protected: set[Callable[..., Any]] | None = None  # made when first asked for
        if session is not None:
            self._provider.use_transport(SessionTransport(session))
        elif provider is None:  # its own provider: over the process's pool for its settings
            made = self._provider
            made.use_transport(PlainTransport.for_settings(made.verify, made.cert, made.proxies))

    @property
    def protected_request_hooks(self) -> set[Callable[..., Any]]:
        """requests-oauthlib ``protected_request`` compliance hooks, run on every request that
        carries the token: ``(url, headers, body) -> (url, headers, body)``; add to the set, or
        assign another."""
        if self._protected is None:
            self._protected = set()
        return self._protected

    @protected_request_hooks.setter
    def protected_request_hooks(self, hooks: set[Callable[..., Any]]) -> None:
        self._protected = hooks

    @property
    def provider(self) -> TokenProvider:
        """The :class:`~officernd_auth.provider.TokenProvider` this object asks for tokens
        (fixed at construction: pass ``provider=`` to share one)."""
        return self._provider

    def close(self) -> None:
        """Close the connections of token requests (optional: a dropped object keeps none)."""
        self._provider.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        origins = [f"{scheme}://{host}:{port}" for scheme, host, port in self.allowed_origins]
        return (
            f"<OfficeRNDAuth client_id={mask_client_id(self._provider.client_id)!r} "
            f"hosts={sorted(self.allowed_hosts) + sorted(origins)!r}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_hook"]  # made again: a bound method
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._hook = self._on_response

    def __eq__(self, other: object) -> bool:
        mine = (self._provider.key, self.allowed_hosts, self.allowed_origins)
        return isinstance(other, OfficeRNDAuth) and mine == (
            other.provider.key, other.allowed_hosts, other.allowed_origins
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self._provider.key, self.allowed_hosts, self.allowed_origins))

    def current_authorization(self) -> str:
        """The ``Authorization`` header value to send now: the held token while it is fresh,
        else the one :meth:`~officernd_auth.provider.TokenProvider.get_token` returns."""
        provider = self._provider
        token = provider.fresh_token() or provider.get_token()
        return token.authorization

    def waits_for_token(self, url: str) -> bool:
        """True when a request to ``url`` through this object would ask the provider for a
        token (it goes to an allowed origin and no held token may be sent as it is)."""
        return self._provider.fresh_token() is None and self.allows(url)

    def get_access_token(self) -> str:
        """The current bearer token string, fetching one first if none is valid.

        For code that needs the token itself (a client library whose functions take one);
        the budget and single flight apply as for any request.

        Example:
            >>> # headers = {"Authorization": f"Bearer {auth.get_access_token()}"}
        """
        return self._provider.get_token().access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Every request of the process comes through here: the checks are written out rather
        # than called (each Python call here shows in the instructions per request, table 1b).
        url = request.url or ""
        # The origin of the last allowed URL (up to and with its first "/"), else the rules.
        if url.startswith(self._last_allowed) or self.allows(url):
            provider = self._provider
            token = provider.fresh_token() or provider.get_token()
            request.headers["Authorization"] = token.authorization
            if self._protected:
                self._run_protected_request_hooks(request)
            body = request.body
            if body is not None and hasattr(body, "tell"):
                try:
                    setattr(request, _BODY_POSITION, body.tell())
                except OSError:
                    setattr(request, _BODY_POSITION, None)
        else:
            logger.debug("not sending the token to %s: host not allowed", url_path(url))
        # What register_hook does, without its per-call isinstance(Callable) check, and with
        # the hook made once (in __init__). On a URL that is not allowed, the hook only says
        # how to allow it (never retries).
        request.hooks["response"].append(self._hook)
        return request

    def _on_response(
        self,
        response: requests.Response,
        timeout: Any = _UNSET,
        verify: Any = _UNSET,
        proxies: Any = _UNSET,
        stream: Any = _UNSET,
        cert: Any = _UNSET,
        **kwargs: Any,
    ) -> requests.Response | None:
        """The response hook: :meth:`handle_401` on a 401, nothing else.

        It names the keywords requests' ``send`` passes to every hook: taking them all as
        ``**kwargs`` copied them into a new dict on every response, which made the hook a third
        of this object's cost per request (benchmarks, table 1b)."""
        if response.status_code != 401:
            return None  # requests keeps the response
        given = {"timeout": timeout, "verify": verify, "proxies": proxies}
        given.update(stream=stream, cert=cert)
        kwargs.update((name, value) for name, value in given.items() if value is not _UNSET)
        return self.handle_401(response, **kwargs)

    def handle_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: on a 401, renew the token once and re-send the request."""
        if response.status_code != 401:
            return response
        connection = response.connection

        def send(retry: requests.PreparedRequest) -> requests.Response:
            second: requests.Response = connection.send(retry, **kwargs)
            second.request = retry
            return second

        return self.heal_401(response, send, kwargs.get("timeout"))

    def heal_401(
        self,
        response: requests.Response,
        send: Callable[[requests.PreparedRequest], requests.Response],
        timeout: Any = None,
    ) -> requests.Response:
        """Handle a 401 answer to a request this object prepared: forget the token that was
        sent, take a fresh one (within ``timeout``, a requests timeout) and re-send the request
        once through ``send``; the 401 goes into the new response's ``history``. Returned as it
        is when re-sending cannot help: the request went without the token (a warning says how
        to allow its origin), the same call was already refused to a freshly issued token (the
        token lacks a scope: a warning names it), or its streamed body cannot be re-sent."""
        request = response.request
        method, url = request.method or "GET", request.url or ""
        used = request.headers.get("Authorization")
        if not self.worth_healing(method, url, used) or not self._rewind(request):
            return response
        # The call's timeout bounds the wait for the new token, as it bounds each wait for the
        # API (requests' timeouts are per wait, not per call).
        deadline = Deadline.for_call(timeout, self._provider.token_deadline)
        # Release the connection first: before re-sending on it, and in case no token comes.
        _ = response.content
        response.close()
        self._provider.invalidate(used, deadline=deadline)
        token = self._provider.get_token(deadline=deadline)
        self.healed(method)
        retry = request.copy()
        retry.hooks = {
            event: [hook for hook in hooks if hook is not self._hook]
            for event, hooks in request.hooks.items()
        }
        cookies = retry._cookies  # type: ignore[attr-defined]
        extract_cookies_to_jar(cookies, request, response.raw)  # type: ignore[no-untyped-call]
        retry.prepare_cookies(cookies)
        retry.headers["Authorization"] = token.authorization
        second = send(retry)
        second.history[:0] = [*response.history, response]
        if second.status_code == 401:
            self.refused_again(method, url, token.authorization)
        return second

    def _run_protected_request_hooks(self, request: requests.PreparedRequest) -> None:
        url, headers, body = request.url, request.headers, request.body
        for hook in list(self._protected or ()):
            url, headers, body = hook(url, headers, body)
        request.url = url
        request.headers = CaseInsensitiveDict(headers)
        request.body = body

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
            url_path(request.url),
        )
        return False
