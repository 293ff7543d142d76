"""``FakeOfficeRND``: OfficeRND's identity server and API, as a real HTTP server on loopback.

It behaves as ``shared/OFFICERND.md`` describes the live service: form-encoded client-credentials
token requests with 40-hex opaque tokens, OfficeRND's limit of 5 token requests per rolling
minute per client (failures included), the v2 API's single 401 body for every auth failure,
v2 cursor pagination and v1 header-cursor pagination, 400 on unknown v2 query parameters, and
500 "Organization not found" for a wrong slug. Faults can be queued for the next token or API
requests, and every request is logged for assertions.

The parts: :mod:`.identity` (the token endpoint), :mod:`.api` (store, scopes, pagination),
:mod:`.faults` (each fault an object that answers), :mod:`.records` (what is logged and sent),
:mod:`.server` (HTTP plumbing). This class wires them together and is the public face.

Example:
    >>> with FakeOfficeRND() as fake:
    ...     app = fake.add_app(["flex.community.members.read"])
    ...     fake.seed_sample()
    ...     fake.token_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .api import UNAUTHORIZED_BODY, FakeApi
from .clock import FakeClock
from .faults import RATE_LIMIT_TEXT, Fault
from .identity import TokenEndpoint
from .records import ApiRequestRecord, App, Reply, TokenRequestRecord
from .sample import SAMPLE_ORG, sample_records
from .server import Exchange, LoopbackServer
from .webhooks import EVENT_OBJECTS, EVENT_VERBS, Subscription, WebhookDelivery, WebhookSender

__all__ = [
    "RATE_LIMIT_TEXT",
    "UNAUTHORIZED_BODY",
    "ApiRequestRecord",
    "App",
    "FakeClock",
    "FakeOfficeRND",
    "Fault",
    "TokenRequestRecord",
]


class FakeOfficeRND:
    """OfficeRND's identity server and API on ``127.0.0.1``, for tests and demos.

    Args:
        host: loopback address to bind (any of 127.0.0.0/8).
        port: port, 0 for a free one.
        expires_in: lifetime of issued tokens, in seconds.
        rate_limit: token requests allowed per ``rate_window`` per client; ``None`` disables.
        rate_window: the rolling window of the rate limit, in seconds.
        clock: time source for token expiry and the rate window (see :class:`FakeClock`).
        org: the organisation slug that exists from the start.
        ssl_context: serve https with this server context (e.g. from ``trustme``), to test
            CA bundles and client certificates; plain http on loopback by default.
        allow_remote: bind a non-loopback ``host`` and deliver webhooks to non-loopback URLs
            (off: a test server inside your process stays on loopback).

    Raises:
        ValueError: ``host`` is not a loopback address and ``allow_remote`` is not set.

    Use it as a context manager; ``token_url`` and ``api_url`` point a client at it.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        expires_in: int = 3599,
        rate_limit: int | None = 5,
        rate_window: float = 60.0,
        clock: Callable[[], float] = time.time,
        org: str = SAMPLE_ORG,
        ssl_context: ssl.SSLContext | None = None,
        allow_remote: bool = False,
    ) -> None:
        from ..values.urls import is_loopback

        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"FakeOfficeRND binds loopback addresses only, not {host!r}: it serves anyone "
                "who can reach it. Pass allow_remote=True to do so on purpose"
            )
        self.host = host
        self.org = org
        self.identity = TokenEndpoint(
            clock=clock, expires_in=expires_in, rate_limit=rate_limit, rate_window=rate_window
        )
        self.api = FakeApi(self.identity.lookup, org, self._changed)
        #: Outgoing webhooks, with their subscriptions and deliveries (see :meth:`add_webhook`).
        self.webhooks = WebhookSender(loopback_only=not allow_remote)
        self.token_requests: list[TokenRequestRecord] = []
        self.api_requests: list[ApiRequestRecord] = []
        self._log_lock = threading.Condition()  # notified when a request is logged
        self.scheme = "https" if ssl_context is not None else "http"
        self._server = LoopbackServer((host, port), self.answer, ssl_context)
        self._thread: threading.Thread | None = None

    # -- settings that tests change on a running emulator ---------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The time source for token expiry and the rate window."""
        return self.identity.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self.identity.clock = value

    @property
    def expires_in(self) -> int:
        """Lifetime of tokens issued from now on, in seconds."""
        return self.identity.expires_in

    @expires_in.setter
    def expires_in(self, value: int) -> None:
        self.identity.expires_in = value

    @property
    def rate_limit(self) -> int | None:
        """Token requests allowed per ``rate_window`` per client; ``None``: no limit."""
        return self.identity.rate_limit

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        self.identity.rate_limit = value

    @property
    def rate_window(self) -> float:
        """The rolling window of the rate limit, in seconds."""
        return self.identity.rate_window

    @rate_window.setter
    def rate_window(self, value: float) -> None:
        self.identity.rate_window = value

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (``https://`` with an ``ssl_context``)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The token endpoint, for ``token_url=``."""
        return f"{self.url}/oauth/token"

    @property
    def api_url(self) -> str:
        """The API origin, for ``api_url=``."""
        return self.url

    def start(self) -> FakeOfficeRND:
        """Start serving in a background thread (the context manager does this)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"FakeOfficeRND:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOfficeRND:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeOfficeRND {self.url} apps={len(self.identity.apps)}>"

    # -- set-up -------------------------------------------------------------------------------

    def add_app(
        self,
        scopes: Iterable[str] | str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> App:
        """Register an application granted ``scopes``; return it with its credentials."""
        if isinstance(scopes, str):
            scopes = scopes.split()
        return self.identity.add_app(scopes, client_id, client_secret)

    def add_org(self, org: str) -> None:
        """Make an organisation slug exist (empty)."""
        with self.api.lock:
            self.api.orgs.add(org)

    def seed(
        self,
        resource: str,
        records: Iterable[Mapping[str, Any]],
        api_version: str = "v2",
        org: str | None = None,
    ) -> list[dict[str, Any]]:
        """Add records to a resource; each gets an ``_id`` unless it has one. Returns them."""
        return self.api.seed(resource, records, api_version, org or self.org)

    def seed_sample(
        self, api_versions: Iterable[str] = ("v1", "v2"), org: str | None = None
    ) -> dict[str, int]:
        """Load the sample organisation into ``org`` (default: the emulator's ``org``), each
        version in its own names and shapes (see :func:`sample_records`).

        Returns:
            The record count per v2 resource.
        """
        org = org or self.org
        for version in api_versions:
            for resource, records in sample_records(version).items():
                self.seed(resource, records, version, org)
        return {resource: len(records) for resource, records in sample_records("v2").items()}

    def records(
        self, resource: str, api_version: str = "v2", org: str | None = None
    ) -> list[dict[str, Any]]:
        """The stored records of a resource, in insertion order (copies)."""
        return self.api.records(resource, api_version, org or self.org)

    def expire_tokens(self) -> int:
        """Revoke every token issued so far (as if they expired); return how many."""
        return self.identity.expire_all()

    def fail_next_token_requests(self, fault: Fault, count: int = 1) -> None:
        """Answer the next ``count`` token requests with ``fault`` instead."""
        with self.identity.lock:
            self.identity.faults.extend([fault] * count)

    def fail_next_api_requests(self, fault: Fault, count: int = 1) -> None:
        """Answer the next ``count`` API requests with ``fault`` (after authentication)."""
        with self.api.lock:
            self.api.faults.extend([fault] * count)

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer requests for ``path`` with a redirect to ``location``."""
        with self.api.lock:
            self.api.redirects[path] = (status, location)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self.identity.lock:
            self.identity.faults.clear()
        with self.api.lock:
            self.api.faults.clear()

    def issue_token(self, app: App, scope: str | None = None) -> str:
        """An access token for ``app`` (its granted scopes, or ``scope``), for tests that call
        the API with a bearer header of their own. It is a real token request (logged, counted
        against the rate limit), answered without a socket.

        Raises:
            RuntimeError: the token endpoint refused (the message has its answer, no secret).
        """
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": scope if scope is not None else app.scope,
            }
        ).encode()
        reply = self.answer(
            "POST",
            "/oauth/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            body,
        ).reply
        answer = json.loads(reply.raw or b"{}")
        if reply.status != 200:
            raise RuntimeError(f"the emulator refused a token: HTTP {reply.status} {answer}")
        token: str = answer["access_token"]
        return token

    @property
    def token_request_count(self) -> int:
        """How many token requests reached the server."""
        return len(self.token_requests)

    def wait_for_token_requests(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` token requests in all have reached the server (a slow fault
        still holds the latest one's answer): how a test knows that another thread's fetch is
        in flight, without sleeping. ``AssertionError`` after ``timeout`` seconds."""
        with self._log_lock:
            if not self._log_lock.wait_for(lambda: len(self.token_requests) >= count, timeout):
                raise AssertionError(
                    f"{len(self.token_requests)} token request(s) reached the emulator in "
                    f"{timeout} s, not {count}"
                )

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (for leak tests)."""
        with self.identity.lock:
            return list(self.identity.tokens)

    def reset_log(self) -> None:
        """Forget the request logs."""
        with self._log_lock:
            self.token_requests.clear()
            self.api_requests.clear()

    # -- webhooks -----------------------------------------------------------------------------

    def add_webhook(
        self, url: str, secret: str | None = None, events: Iterable[str] | None = None
    ) -> str:
        """Deliver events (all, or those named, e.g. ``["member.created"]``) to ``url``.

        Members, companies and bookings created, updated or removed through the emulator's API
        (either version) cause ``member.created``, ``company.updated``, ``booking.removed``...
        Webhooks created through the API (``POST .../webhooks`` with ``url`` and optional
        ``events`` and ``secret``, scopes ``flex.settings.webhooks.*``) receive them too.

        Returns:
            The secret the deliveries are signed with (made up when not given).
        """
        secret = secret or secrets.token_urlsafe(24)
        self.webhooks.subscribe(url, secret, events)
        return secret

    def send_webhook(
        self, url: str, event_type: str, data: Mapping[str, Any], *, secret: str
    ) -> WebhookDelivery:
        """Deliver one signed event to ``url`` now (retried on failure); return how it went."""
        return self.webhooks.send(url, event_type, data, secret)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every delivery made so far (after its last attempt)."""
        return list(self.webhooks.deliveries)

    def wait_for_webhooks(self, count: int, timeout: float = 10.0) -> list[WebhookDelivery]:
        """Wait until ``count`` deliveries are done (none in flight); return them all."""
        return self.webhooks.wait(count, timeout)

    def _changed(
        self, version: str, org: str, resource: str, action: str, record: dict[str, Any]
    ) -> None:
        name = EVENT_OBJECTS.get(resource)
        if name is None:
            return
        event_type = f"{name}.{EVENT_VERBS[action]}"
        registered = [
            Subscription(
                str(hook["url"]),
                str(hook.get("secret", "")),
                frozenset(hook["events"]) if isinstance(hook.get("events"), list) else None,
            )
            for hook in self.api.records("webhooks", "v2", org)
            if hook.get("secret")
        ]
        self.webhooks.emit(event_type, {"object": record}, registered)

    # -- answering ----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Exchange:
        """Answer one HTTP request (the server calls this; tests may too, without a socket)."""
        parts = urlsplit(target)
        # Header names are case-insensitive (RFC 9110 5.1); HTTP/2 and many clients send them
        # lower-case, so the emulator reads them lower-case whatever was sent.
        headers = {name.lower(): value for name, value in headers.items()}
        if parts.path == "/oauth/token":
            if method != "POST":
                return Exchange(
                    Reply(405, {"error": "invalid_request", "error_description": "use POST"})
                )
            reply, fault, record = self.identity.handle(headers, body)
            with self._log_lock:
                self.token_requests.append(record)
                self._log_lock.notify_all()
        else:
            query = parse_qs(parts.query, keep_blank_values=True)
            reply, fault = self.api.handle(method, parts.path, query, headers, body)
            api_record = ApiRequestRecord(
                time=self.clock(),
                method=method,
                path=parts.path,
                query=query,
                status=reply.status,
                authorization=headers.get("authorization"),
                body=body,
            )
            with self._log_lock:
                self.api_requests.append(api_record)
        if fault is None:
            return Exchange(reply)
        return Exchange(reply, fault.delay, fault.drops_connection, fault.drip_interval)
