"""The emulated token endpoint: applications, issued tokens, OfficeRND's rate limit, faults."""

from __future__ import annotations

import base64
import binascii
import collections
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .faults import RATE_LIMIT_TEXT, Fault
from .records import App, Reply, TokenRequestRecord, oauth_error

__all__ = ["IssuedToken", "TokenEndpoint"]


@dataclass
class IssuedToken:
    """A token the endpoint issued: whose it is, what it grants, until when."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


class TokenEndpoint:
    """``POST /oauth/token`` as OfficeRND answers it (see ``shared/OFFICERND.md``).

    Form-encoded client credentials (or HTTP Basic), 40-hex opaque tokens, RFC 6749 errors,
    and OfficeRND's limit of ``rate_limit`` requests per rolling ``rate_window`` seconds per
    client, failures included.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        expires_in: int,
        rate_limit: int | None,
        rate_window: float,
    ) -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.faults: collections.deque[Fault] = collections.deque()
        self._rate: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def add_app(
        self, scopes: Iterable[str], client_id: str | None, client_secret: str | None
    ) -> App:
        """Register an application granted ``scopes``."""
        app = App(
            client_id=client_id or secrets.token_hex(12),
            client_secret=client_secret or secrets.token_urlsafe(24),
            scopes=frozenset(scopes),
        )
        with self.lock:
            self.apps[app.client_id] = app
        return app

    def lookup(self, authorization: str | None) -> IssuedToken | None:
        """The live token an ``Authorization: Bearer ...`` value carries, or ``None``."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self.lock:
            issued = self.tokens.get(authorization[7:].strip())
        if issued is None or issued.revoked or self.clock() >= issued.expires_at:
            return None
        return issued

    def expire_all(self) -> int:
        """Revoke every live token; return how many."""
        with self.lock:
            now = self.clock()
            live = [t for t in self.tokens.values() if not t.revoked and t.expires_at > now]
            for token in live:
                token.revoked = True
            return len(live)

    def handle(
        self, headers: Mapping[str, str], body: bytes
    ) -> tuple[Reply, Fault | None, TokenRequestRecord]:
        """Answer one token request; return the reply, the fault applied and the record.

        ``headers`` has lower-case names.
        """
        now = self.clock()
        content_type = headers.get("content-type", "")
        form = {
            k: v[-1]
            for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        auth_method = "body" if client_id is not None else None
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode()
                basic_id, _, basic_secret = decoded.partition(":")
                client_id, client_secret, auth_method = basic_id, basic_secret, "basic"
            except (binascii.Error, UnicodeDecodeError):
                pass
        fault: Fault | None = None
        with self.lock:
            window = self._rate[client_id or ""]
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            limited = self.rate_limit is not None and len(window) >= self.rate_limit
            window.append(now)
            if not limited and self.faults:
                fault = self.faults.popleft()
        if limited:
            reply = Reply(429, text=RATE_LIMIT_TEXT, content_type="text/plain")
        else:
            replaced = fault.replacement() if fault is not None else None
            reply = replaced or self._answer(
                fault, form, client_id, client_secret, now, content_type
            )
        record = TokenRequestRecord(
            time=now,
            client_id=client_id,
            scope=form.get("scope"),
            grant_type=form.get("grant_type"),
            auth_method=auth_method,
            status=reply.status,
            fault=fault.kind if fault else None,
            form={k: v for k, v in form.items() if k != "client_secret"},
            content_type=content_type,
        )
        return reply, fault, record

    def _answer(
        self,
        fault: Fault | None,
        form: Mapping[str, str],
        client_id: str | None,
        client_secret: str | None,
        now: float,
        content_type: str,
    ) -> Reply:
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return oauth_error(
                400, "invalid_request", "the body must be application/x-www-form-urlencoded"
            )
        app = self.apps.get(client_id or "")
        if app is None or not secrets.compare_digest(
            app.client_secret.encode(), (client_secret or "").encode()
        ):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        grant_type = form.get("grant_type")
        if grant_type is None:
            return oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return oauth_error(
                400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported"
            )
        requested = form.get("scope")
        scopes = frozenset(requested.split()) if requested else app.scopes
        not_granted = scopes - app.scopes
        if not_granted:
            return oauth_error(
                400, "invalid_scope", f"scope not granted: {' '.join(sorted(not_granted))}"
            )
        access_token = secrets.token_hex(20)
        payload: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(sorted(scopes)),
        }
        if fault is not None:
            fault.adjust_token(payload, (requested or "").split())
        if "scope" in payload:
            scopes = frozenset(payload["scope"].split())
        try:
            lifetime = float(payload.get("expires_in", self.expires_in))
        except (TypeError, ValueError):
            lifetime = self.expires_in
        issued = payload.get("access_token")  # a fault may issue a token of another shape
        with self.lock:
            self.tokens[issued if isinstance(issued, str) else access_token] = IssuedToken(
                app.client_id, scopes, now + lifetime
            )
        return Reply(200, payload, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
