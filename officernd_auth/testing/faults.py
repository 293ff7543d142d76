"""Faults the emulator can inject: each one an object that knows how it answers.

A fault may replace the answer (:meth:`Fault.replacement`), change a successful token answer
(:meth:`Fault.adjust_token`), delay the answer (``delay``) or close the connection
(``drops_connection``).
Adding a kind of fault is one class here and one constructor on :class:`Fault`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .records import Reply

__all__ = [
    "RATE_LIMIT_TEXT",
    "Drip",
    "Drop",
    "ExpiresIn",
    "Fault",
    "NarrowScope",
    "NoScope",
    "Respond",
    "Slow",
]

RATE_LIMIT_TEXT = "Too many requests, please try again later"


class Fault:
    """What the token endpoint (or API) does instead of answering normally, once.

    Build one with the class methods, e.g. ``Fault.server_error()``; queue it with
    :meth:`FakeOfficeRND.fail_next_token_requests` or ``fail_next_api_requests``.

    Attributes:
        kind: the name recorded in ``TokenRequestRecord.fault``.
        delay: seconds to wait before answering.
        drops_connection: close the connection without answering.
        drip_interval: send the body one byte at a time, this many seconds apart.
    """

    kind: str = "fault"
    delay: float = 0.0
    drops_connection: bool = False
    drip_interval: float = 0.0

    def replacement(self) -> Reply | None:
        """The answer to send instead of the normal one, or ``None`` to answer normally."""
        return None

    def adjust_token(self, payload: dict[str, Any], requested: list[str]) -> None:
        """Change a successful token answer in place (``requested``: the scopes asked for)."""

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def server_error(cls, status: int = 503) -> Fault:
        """A 5xx with an HTML proxy page."""
        page = (
            f"<html><head><title>{status} Service Unavailable</title></head><body>"
            f"<h1>{status}</h1><p>The server is temporarily unable to service your request."
            "</p></body></html>"
        )
        return Respond(status, page, "text/html", kind="server_error")

    @classmethod
    def not_json(cls) -> Fault:
        """A 200 whose body is not JSON."""
        return Respond(200, "<html><body>Welcome</body></html>", "text/html", kind="not_json")

    @classmethod
    def no_access_token(cls) -> Fault:
        """A 200 JSON object without ``access_token``."""
        return Respond(200, '{"token_type": "Bearer", "expires_in": 3599}', kind="no_access_token")

    @classmethod
    def expires_in(cls, value: Any) -> Fault:
        """A normal token whose ``expires_in`` is ``value`` (a string, negative, huge...)."""
        return ExpiresIn(value)

    @classmethod
    def expires_in_string(cls, value: str = "3599") -> Fault:
        """A normal token whose ``expires_in`` is sent as a JSON string."""
        return ExpiresIn(value)

    @classmethod
    def no_expires_in(cls) -> Fault:
        """A normal token without ``expires_in``."""
        return ExpiresIn(None)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """A normal answer, ``seconds`` late."""
        return Slow(seconds)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return Drop()

    @classmethod
    def narrow_scope(cls, drop: Iterable[str] | None = None) -> Fault:
        """Grant fewer scopes than requested: ``drop`` (default: the last requested one)."""
        return NarrowScope(None if drop is None else frozenset(drop))

    @classmethod
    def no_scope(cls) -> Fault:
        """A normal token without ``scope`` in the answer."""
        return NoScope()

    @classmethod
    def rate_limited(cls, retry_after: float | None = None) -> Fault:
        """A 429 like OfficeRND's, with or without ``Retry-After``."""
        headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
        return Respond(429, RATE_LIMIT_TEXT, "text/plain", headers, kind="rate_limited")

    @classmethod
    def empty_body(cls, status: int = 200) -> Fault:
        """An empty body with the given status."""
        return Respond(status, "", "text/plain", kind="empty_body")

    @classmethod
    def oversized(cls, size: int = 1_000_000) -> Fault:
        """A 200 whose body is ``size`` bytes of JSON (a token answer is a few hundred)."""
        body = '{"token_type": "Bearer", "expires_in": 3599, "access_token": "' + "a" * size + '"}'
        return Respond(200, body, kind="oversized")

    @classmethod
    def deeply_nested(cls, depth: int = 100_000) -> Fault:
        """A 200 whose body is JSON arrays nested ``depth`` deep."""
        return Respond(200, "[" * depth + "]" * depth, kind="deeply_nested")

    @classmethod
    def bad_token_characters(cls, access_token: str = "abc\r\n\tdef") -> Fault:  # noqa: S107
        """A 200 whose ``access_token`` has characters no bearer token may have."""
        body = json.dumps(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": 3599}
        )
        return Respond(200, body, kind="bad_token_characters")

    @classmethod
    def drip(cls, seconds_per_byte: float = 0.05) -> Fault:
        """A normal answer whose body arrives one byte every ``seconds_per_byte``."""
        return Drip(seconds_per_byte)

    @classmethod
    def respond(
        cls,
        status: int,
        body: str,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Any answer at all."""
        return Respond(status, body, content_type, tuple((headers or {}).items()))


@dataclass(frozen=True)
class Respond(Fault):
    """Answer with this status, body and headers instead."""

    status: int
    body: str
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    kind: str = "respond"
    delay: float = 0.0  # ``dataclasses.replace(fault, delay=...)`` makes it late as well

    def replacement(self) -> Reply:
        return Reply(
            self.status, text=self.body, content_type=self.content_type, headers=dict(self.headers)
        )


@dataclass(frozen=True)
class Slow(Fault):
    """Answer normally, ``delay`` seconds late."""

    delay: float
    kind: str = field(default="slow", init=False)


@dataclass(frozen=True)
class Drip(Fault):
    """Answer normally, the body one byte every ``drip_interval`` seconds."""

    drip_interval: float
    kind: str = field(default="drip", init=False)


@dataclass(frozen=True)
class Drop(Fault):
    """Close the connection without answering."""

    kind: str = field(default="drop", init=False)
    drops_connection: bool = field(default=True, init=False)


@dataclass(frozen=True)
class ExpiresIn(Fault):
    """A normal token whose ``expires_in`` is ``value``; ``None`` leaves the field out."""

    value: Any
    kind: str = field(default="expires_in", init=False)

    def adjust_token(self, payload: dict[str, Any], requested: list[str]) -> None:
        if self.value is None:
            del payload["expires_in"]
        else:
            payload["expires_in"] = self.value


@dataclass(frozen=True)
class NarrowScope(Fault):
    """Grant fewer scopes than requested: ``drop_scopes`` (``None``: the last requested one)."""

    drop_scopes: frozenset[str] | None = None
    kind: str = field(default="narrow_scope", init=False)

    def adjust_token(self, payload: dict[str, Any], requested: list[str]) -> None:
        drop = self.drop_scopes if self.drop_scopes is not None else frozenset(requested[-1:])
        payload["scope"] = " ".join(sorted(set(payload["scope"].split()) - drop))


@dataclass(frozen=True)
class NoScope(Fault):
    """A normal token without ``scope`` in the answer."""

    kind: str = field(default="no_scope", init=False)

    def adjust_token(self, payload: dict[str, Any], requested: list[str]) -> None:
        del payload["scope"]
