"""``FakeOfficeRND``: OfficeRND's identity server and API, as a real HTTP server on loopback.

It behaves as ``shared/OFFICERND.md`` describes the live service: form-encoded client-credentials
token requests with 40-hex opaque tokens, OfficeRND's limit of 5 token requests per rolling
minute per client (failures included), the v2 API's single 401 body for every auth failure,
v2 cursor pagination and v1 header-cursor pagination, 400 on unknown v2 query parameters, and
500 "Organization not found" for a wrong slug. Faults can be queued for the next token or API
requests, and every request is logged for assertions.

Example:
    >>> with FakeOfficeRND() as fake:
    ...     app = fake.add_app(["flex.community.members.read"])
    ...     fake.seed_sample()
    ...     fake.token_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .sample import SAMPLE_ORG, sample_records

__all__ = [
    "ApiRequestRecord",
    "App",
    "FakeClock",
    "FakeOfficeRND",
    "Fault",
    "TokenRequestRecord",
]

UNAUTHORIZED_BODY = {"statusCode": 401, "message": "Unauthorized access", "error": "Unauthorized"}
RATE_LIMIT_TEXT = "Too many requests, please try again later"
_API_PATH = re.compile(
    r"^/api/(?P<version>v[12])/organizations/(?P<org>[^/]+)/(?P<resource>[^/]+)(?:/(?P<id>[^/]+))?/?$"
)
_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
_PAGE_LIMITS = {"v1": 100, "v2": 50}


class FakeClock:
    """A clock that only moves when told to; share it between the emulator and the client.

    Example:
        >>> clock = FakeClock(1000.0)
        >>> clock.advance(60); clock()
        1060.0
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"

    def __reduce__(self) -> tuple[type[FakeClock], tuple[float]]:
        return (FakeClock, (self._now,))


@dataclass(frozen=True)
class App:
    """An API application registered with the emulator (Settings -> Developer Tools)."""

    client_id: str
    client_secret: str = field(repr=False)
    scopes: frozenset[str]

    @property
    def scope(self) -> str:
        """The granted scopes as one space-separated string."""
        return " ".join(sorted(self.scopes))


@dataclass(frozen=True)
class Fault:
    """What the token endpoint (or API) does instead of answering normally, once.

    Build one with the class methods, e.g. ``Fault.server_error()``; queue it with
    :meth:`FakeOfficeRND.fail_next_token_requests`.
    """

    kind: str
    status: int = 200
    body: str | None = None
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    payload: Mapping[str, Any] | None = None
    drop_scopes: frozenset[str] | None = None

    @classmethod
    def server_error(cls, status: int = 503) -> Fault:
        """A 5xx with an HTML proxy page."""
        page = (
            f"<html><head><title>{status} Service Unavailable</title></head><body>"
            f"<h1>{status}</h1><p>The server is temporarily unable to service your request."
            "</p></body></html>"
        )
        return cls("server_error", status=status, body=page, content_type="text/html")

    @classmethod
    def not_json(cls) -> Fault:
        """A 200 whose body is not JSON."""
        return cls("not_json", body="<html><body>Welcome</body></html>", content_type="text/html")

    @classmethod
    def no_access_token(cls) -> Fault:
        """A 200 JSON object without ``access_token``."""
        return cls("no_access_token", payload={"token_type": "Bearer", "expires_in": 3599})

    @classmethod
    def expires_in(cls, value: Any) -> Fault:
        """A normal token whose ``expires_in`` is ``value`` (a string, negative, huge...)."""
        return cls("expires_in", payload={"expires_in": value})

    @classmethod
    def expires_in_string(cls, value: str = "3599") -> Fault:
        """A normal token whose ``expires_in`` is sent as a JSON string."""
        return cls("expires_in", payload={"expires_in": value})

    @classmethod
    def no_expires_in(cls) -> Fault:
        """A normal token without ``expires_in``."""
        return cls("expires_in", payload={"expires_in": None})

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """A normal answer, ``seconds`` late."""
        return cls("slow", delay=seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def narrow_scope(cls, drop: Iterable[str] | None = None) -> Fault:
        """Grant fewer scopes than requested: ``drop`` (default: the last requested one)."""
        return cls("narrow_scope", drop_scopes=None if drop is None else frozenset(drop))

    @classmethod
    def no_scope(cls) -> Fault:
        """A normal token without ``scope`` in the answer."""
        return cls("no_scope")

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        """A 429 like OfficeRND's, with or without ``Retry-After``."""
        headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
        return cls(
            "rate_limited",
            status=429,
            body=RATE_LIMIT_TEXT,
            content_type="text/plain",
            headers=headers,
        )

    @classmethod
    def empty_body(cls, status: int = 200) -> Fault:
        """An empty body with the given status."""
        return cls("empty_body", status=status, body="", content_type="text/plain")

    @classmethod
    def respond(
        cls,
        status: int,
        body: str,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Any answer at all."""
        return cls(
            "respond",
            status=status,
            body=body,
            content_type=content_type,
            headers=tuple((headers or {}).items()),
        )


@dataclass(frozen=True)
class TokenRequestRecord:
    """One request to the token endpoint, as the emulator saw it (the secret is not kept)."""

    time: float
    client_id: str | None
    scope: str | None
    grant_type: str | None
    auth_method: str | None
    status: int
    fault: str | None
    form: Mapping[str, str] = field(repr=False, default_factory=dict)
    content_type: str = ""


@dataclass(frozen=True)
class ApiRequestRecord:
    """One request to the API, as the emulator saw it."""

    time: float
    method: str
    path: str
    query: Mapping[str, list[str]]
    status: int
    authorization: str | None = field(repr=False, default=None)
    body: bytes = field(repr=False, default=b"")

    @property
    def has_token(self) -> bool:
        """True when the request carried an ``Authorization`` header."""
        return self.authorization is not None


@dataclass
class _IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


class _Response:
    def __init__(
        self,
        status: int,
        body: Any = None,
        *,
        text: str | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        if text is not None:
            self.raw = text.encode()
        elif body is None:
            self.raw = b""
        else:
            self.raw = json.dumps(body).encode()
        self.content_type = content_type
        self.headers = dict(headers or {})


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
    ) -> None:
        self.host = host
        self.expires_in = expires_in
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock = clock
        self.token_requests: list[TokenRequestRecord] = []
        self.api_requests: list[ApiRequestRecord] = []
        self._lock = threading.RLock()
        self._apps: dict[str, App] = {}
        self._tokens: dict[str, _IssuedToken] = {}
        self._orgs: set[str] = {org}
        self.org = org
        self._store: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self._token_faults: collections.deque[Fault] = collections.deque()
        self._api_faults: collections.deque[Fault] = collections.deque()
        self._redirects: dict[str, tuple[int, str]] = {}
        self._rate: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

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
        return f"<FakeOfficeRND {self.url} apps={len(self._apps)}>"

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
        app = App(
            client_id=client_id or secrets.token_hex(12),
            client_secret=client_secret or secrets.token_urlsafe(24),
            scopes=frozenset(scopes),
        )
        with self._lock:
            self._apps[app.client_id] = app
        return app

    def add_org(self, org: str) -> None:
        """Make an organisation slug exist (empty)."""
        with self._lock:
            self._orgs.add(org)

    def seed(
        self,
        resource: str,
        records: Iterable[Mapping[str, Any]],
        api_version: str = "v2",
        org: str | None = None,
    ) -> list[dict[str, Any]]:
        """Add records to a resource; each gets an ``_id`` unless it has one. Returns them."""
        org = org or self.org
        stored = []
        with self._lock:
            self._orgs.add(org)
            table = self._store.setdefault((api_version, org, resource), {})
            for record in records:
                item = dict(record)
                item.setdefault("_id", secrets.token_hex(12))
                table[str(item["_id"])] = item
                stored.append(dict(item))
        return stored

    def seed_sample(self, api_versions: Iterable[str] = ("v1", "v2")) -> dict[str, int]:
        """Load the sample ``acme`` organisation; return the record count per resource."""
        counts = {}
        for resource, records in sample_records().items():
            for version in api_versions:
                self.seed(resource, records, version, SAMPLE_ORG)
            counts[resource] = len(records)
        return counts

    def records(
        self, resource: str, api_version: str = "v2", org: str | None = None
    ) -> list[dict[str, Any]]:
        """The stored records of a resource, in insertion order (copies)."""
        with self._lock:
            table = self._store.get((api_version, org or self.org, resource), {})
            return [dict(r) for r in table.values()]

    def expire_tokens(self) -> int:
        """Revoke every token issued so far (as if they expired); return how many."""
        with self._lock:
            now = self.clock()
            live = [t for t in self._tokens.values() if not t.revoked and t.expires_at > now]
            for token in live:
                token.revoked = True
            return len(live)

    def fail_next_token_requests(self, fault: Fault, count: int = 1) -> None:
        """Answer the next ``count`` token requests with ``fault`` instead."""
        with self._lock:
            self._token_faults.extend([fault] * count)

    def fail_next_api_requests(self, fault: Fault, count: int = 1) -> None:
        """Answer the next ``count`` API requests with ``fault`` (after authentication)."""
        with self._lock:
            self._api_faults.extend([fault] * count)

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer requests for ``path`` with a redirect to ``location``."""
        with self._lock:
            self._redirects[path] = (status, location)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._token_faults.clear()
            self._api_faults.clear()

    @property
    def token_request_count(self) -> int:
        """How many token requests reached the server."""
        return len(self.token_requests)

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (for leak tests)."""
        with self._lock:
            return list(self._tokens)

    def reset_log(self) -> None:
        """Forget the request logs."""
        with self._lock:
            self.token_requests.clear()
            self.api_requests.clear()

    # -- identity -----------------------------------------------------------------------------

    def _handle_token(
        self, headers: Mapping[str, str], body: bytes
    ) -> tuple[_Response, str | None, float, TokenRequestRecord]:
        now = self.clock()
        content_type = headers.get("Content-Type", "")
        form = {
            k: v[-1]
            for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        auth_method = "body" if client_id is not None else None
        basic = headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode()
                basic_id, _, basic_secret = decoded.partition(":")
                client_id, client_secret, auth_method = basic_id, basic_secret, "basic"
            except (binascii.Error, UnicodeDecodeError):
                pass
        fault: Fault | None = None
        with self._lock:
            window = self._rate[client_id or ""]
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            limited = self.rate_limit is not None and len(window) >= self.rate_limit
            window.append(now)
            if not limited and self._token_faults:
                fault = self._token_faults.popleft()
        response = self._token_response(
            limited, fault, form, client_id, client_secret, now, content_type
        )
        record = TokenRequestRecord(
            time=now,
            client_id=client_id,
            scope=form.get("scope"),
            grant_type=form.get("grant_type"),
            auth_method=auth_method,
            status=response.status,
            fault=fault.kind if fault else None,
            form={k: v for k, v in form.items() if k != "client_secret"},
            content_type=content_type,
        )
        delay = fault.delay if fault else 0.0
        drop = fault is not None and fault.kind == "drop"
        return response, "drop" if drop else None, delay, record

    def _token_response(
        self,
        limited: bool,
        fault: Fault | None,
        form: Mapping[str, str],
        client_id: str | None,
        client_secret: str | None,
        now: float,
        content_type: str,
    ) -> _Response:
        if limited:
            return _Response(429, text=RATE_LIMIT_TEXT, content_type="text/plain")
        if fault is not None and fault.body is not None:
            return _Response(
                fault.status,
                text=fault.body,
                content_type=fault.content_type,
                headers=dict(fault.headers),
            )
        if fault is not None and fault.kind == "no_access_token":
            return _Response(200, dict(fault.payload or {}))
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(
                400, "invalid_request", "the body must be application/x-www-form-urlencoded"
            )
        app = self._apps.get(client_id or "")
        if app is None or not secrets.compare_digest(
            app.client_secret.encode(), (client_secret or "").encode()
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        grant_type = form.get("grant_type")
        if grant_type is None:
            return _oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported"
            )
        requested = form.get("scope")
        scopes = frozenset(requested.split()) if requested else app.scopes
        not_granted = scopes - app.scopes
        if not_granted:
            return _oauth_error(
                400, "invalid_scope", f"scope not granted: {' '.join(sorted(not_granted))}"
            )
        if fault is not None and fault.kind == "narrow_scope":
            drop = fault.drop_scopes
            if drop is None:
                drop = frozenset((requested or "").split()[-1:])
            scopes = scopes - drop
        access_token = secrets.token_hex(20)
        payload: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(sorted(scopes)),
        }
        lifetime: float = self.expires_in
        if fault is not None and fault.kind == "no_scope":
            del payload["scope"]
        if fault is not None and fault.kind == "expires_in" and fault.payload is not None:
            value = fault.payload["expires_in"]
            if value is None:
                del payload["expires_in"]
            else:
                payload["expires_in"] = value
                try:
                    lifetime = float(value)
                except (TypeError, ValueError):
                    lifetime = self.expires_in
        with self._lock:
            self._tokens[access_token] = _IssuedToken(app.client_id, scopes, now + lifetime)
        return _Response(200, payload, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- API ----------------------------------------------------------------------------------

    def _authorised(
        self, headers: Mapping[str, str], version: str, resource: str, method: str
    ) -> bool:
        value = headers.get("Authorization", "")
        if not value.startswith("Bearer "):
            return False
        with self._lock:
            issued = self._tokens.get(value[7:].strip())
        if issued is None or issued.revoked or self.clock() >= issued.expires_at:
            return False
        action = _ACTIONS.get(method, "update")
        if version == "v1":
            needed = "officernd.api.read" if action == "read" else "officernd.api.write"
            return needed in issued.scopes
        for scope in issued.scopes:
            parts = scope.split(".")
            if (
                len(parts) >= 4
                and parts[0] == "flex"
                and parts[2] == resource
                and parts[-1] == action
            ):
                return True
        return False

    def _handle_api(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Response:
        with self._lock:
            redirect = self._redirects.get(path)
        if redirect is not None:
            return _Response(
                redirect[0], {"redirect": redirect[1]}, headers={"Location": redirect[1]}
            )
        match = _API_PATH.match(path)
        if match is None:
            return _Response(
                404, {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}
            )
        version, org, resource, item_id = match.group("version", "org", "resource", "id")
        if not self._authorised(headers, version, resource, method):
            return _Response(401, UNAUTHORIZED_BODY)
        with self._lock:
            fault = self._api_faults.popleft() if self._api_faults else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None:
            return _Response(
                fault.status,
                text=fault.body or "",
                content_type=fault.content_type,
                headers=dict(fault.headers),
            )
        if org not in self._orgs:
            return _Response(500, {"statusCode": 500, "message": "Organization not found"})
        with self._lock:
            table = self._store.setdefault((version, org, resource), {})
            if item_id is None:
                if method in ("GET", "HEAD"):
                    return self._list(version, table, query)
                if method == "POST":
                    return self._create(table, body)
                return _Response(405, {"statusCode": 405, "message": "Method Not Allowed"})
            if method in ("GET", "HEAD"):
                if item_id not in table:
                    return _not_found(resource, item_id)
                return _Response(200, table[item_id])
            if method in ("PUT", "PATCH"):
                if item_id not in table:
                    return _not_found(resource, item_id)
                changes = _json_object(body)
                if changes is None:
                    return _bad_request("the body must be a JSON object")
                changes.pop("_id", None)
                table[item_id] = {**table[item_id], **changes}
                return _Response(200, table[item_id])
            if method == "DELETE":
                if table.pop(item_id, None) is None:
                    return _not_found(resource, item_id)
                return _Response(204)
            return _Response(405, {"statusCode": 405, "message": "Method Not Allowed"})

    def _create(self, table: dict[str, dict[str, Any]], body: bytes) -> _Response:
        record = _json_object(body)
        if record is None:
            return _bad_request("the body must be a JSON object")
        record.setdefault("_id", secrets.token_hex(12))
        record["_id"] = str(record["_id"])
        if record["_id"] in table:
            return _Response(409, {"statusCode": 409, "message": "Duplicate _id"})
        table[record["_id"]] = record
        return _Response(201, record)

    def _list(
        self, version: str, table: Mapping[str, dict[str, Any]], query: Mapping[str, list[str]]
    ) -> _Response:
        items = list(table.values())
        maximum = _PAGE_LIMITS[version]
        limit = maximum
        if "$limit" in query:
            try:
                limit = int(query["$limit"][-1])
            except ValueError:
                return _bad_request("$limit must be a whole number")
            if not 1 <= limit <= maximum:
                return _bad_request(f"$limit must be between 1 and {maximum}")
        fields = {key for item in items for key in item}
        cursor_keys = ("$cursorNext", "$cursorPrev") if version == "v2" else ("$next", "$prev")
        for key, values in query.items():
            if key == "$limit" or key in cursor_keys:
                continue
            if key.startswith("$") or key not in fields:
                if version == "v2":
                    return _bad_request(f"property {key} should not exist")
                continue
            items = [item for item in items if str(item.get(key)) == values[-1]]
        start = 0
        for key in cursor_keys:
            if key in query:
                offset = _decode_cursor(query[key][-1])
                if offset is None:
                    return _bad_request(f"{key} is not a valid cursor")
                start = offset if key in ("$cursorNext", "$next") else max(0, offset - limit)
        page = items[start : start + limit]
        end = start + len(page)
        if version == "v1":
            headers = {}
            if end < len(items):
                headers["rnd-cursor-next"] = _encode_cursor(end)
            if start > 0:
                headers["rnd-cursor-prev"] = _encode_cursor(start)
            return _Response(200, page, headers=headers)
        body: dict[str, Any] = {"results": page, "rangeStart": start, "rangeEnd": end}
        if end < len(items):
            body["cursorNext"] = _encode_cursor(end)
        if start > 0:
            body["cursorPrev"] = _encode_cursor(start)
        return _Response(200, body)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return offset if kind == "offset" and offset >= 0 else None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _oauth_error(status: int, error: str, description: str) -> _Response:
    return _Response(status, {"error": error, "error_description": description})


def _bad_request(message: str) -> _Response:
    return _Response(400, {"statusCode": 400, "message": message, "error": "Bad Request"})


def _not_found(resource: str, item_id: str) -> _Response:
    return _Response(
        404, {"statusCode": 404, "message": f"{resource} {item_id} not found", "error": "Not Found"}
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOfficeRND

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, closed socket) is normal here; anything else is not."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOfficeRND"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        body = self._read_body()
        parts = urlsplit(self.path)
        headers = dict(self.headers.items())
        if parts.path == "/oauth/token":
            if self.command != "POST":
                self._send(
                    _Response(405, {"error": "invalid_request", "error_description": "use POST"})
                )
                return
            response, action, delay, record = fake._handle_token(headers, body)
            with fake._lock:
                fake.token_requests.append(record)
            if delay:
                time.sleep(delay)
            if action == "drop":
                self.close_connection = True
                return
            self._send(response)
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        response = fake._handle_api(self.command, parts.path, query, headers, body)
        api_record = ApiRequestRecord(
            time=fake.clock(),
            method=self.command,
            path=parts.path,
            query=query,
            status=response.status,
            authorization=self.headers.get("Authorization"),
            body=body,
        )
        with fake._lock:
            fake.api_requests.append(api_record)
        self._send(response)

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        if response.raw or response.status != 204:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch
