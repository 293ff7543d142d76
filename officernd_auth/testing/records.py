"""What the emulator records and answers: applications, request records, the reply value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiRequestRecord", "App", "Reply", "TokenRequestRecord"]


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


class Reply:
    """One HTTP answer: status, body bytes, content type and extra headers.

    Args:
        status: the HTTP status.
        body: a value sent as JSON (``None`` for no body).
        text: a body sent as it is, instead of ``body``.
        content_type: the ``Content-Type``.
        headers: further headers.
    """

    __slots__ = ("content_type", "headers", "raw", "status")

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

    def __repr__(self) -> str:
        return f"<Reply {self.status} {len(self.raw)} bytes>"


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON answer."""
    return Reply(status, body, headers=headers)


def oauth_error(status: int, error: str, description: str) -> Reply:
    """An RFC 6749 error answer."""
    return Reply(status, {"error": error, "error_description": description})


def bad_request(message: str) -> Reply:
    """OfficeRND's 400 body."""
    return Reply(400, {"statusCode": 400, "message": message, "error": "Bad Request"})


def not_found(message: str) -> Reply:
    """OfficeRND's 404 body."""
    return Reply(404, {"statusCode": 404, "message": message, "error": "Not Found"})
