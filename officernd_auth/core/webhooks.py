"""Verifying OfficeRND's webhook signatures; pure (no HTTP, no provider).

OfficeRND signs every webhook POST with an ``officernd-signature`` header of two
comma-separated ``key=value`` segments: the Unix timestamp in seconds, then the hex HMAC-SHA256
of ``raw_body + b"." + timestamp`` keyed by the webhook secret. The key names are not documented,
so the header is read by position, as OfficeRND's own examples do; :func:`sign` writes
``t=<timestamp>,signature=<hex>``.

Example:
    >>> header = sign(b'{"eventType": "member.created", "data": {"object": {}}}', "whsec",
    ...               timestamp=1_800_000_000)
    >>> event = parse_event(b'{"eventType": "member.created", "data": {"object": {}}}', header,
    ...                     "whsec", now=1_800_000_010)
    >>> event["eventType"]
    'member.created'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from ..values.environment import ENVIRONMENT, environment_value
from ..values.errors import ConfigurationError, WebhookPayloadError, WebhookSignatureError

__all__ = [
    "DEFAULT_TOLERANCE",
    "ENVIRONMENT_VARIABLE",
    "SIGNATURE_HEADER",
    "WebhookEvent",
    "parse_event",
    "sign",
    "signature_header",
    "verify_signature",
]

#: The header OfficeRND puts its signature in (header names are case-insensitive).
SIGNATURE_HEADER = "officernd-signature"
#: Where the secret comes from when none is passed.
ENVIRONMENT_VARIABLE = ENVIRONMENT["webhook_secret"]
#: Seconds a delivery's timestamp may be off, either way (replays and clock skew).
DEFAULT_TOLERANCE = 300
_MAX_HEADER = 256
_KEY = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-fA-F]{64}")

Secret = str | bytes


class WebhookEvent(TypedDict, total=False):
    """An OfficeRND webhook event, as :func:`parse_event` returns it.

    Attributes:
        eventType: e.g. ``"member.created"``, ``"member.removed"``.
        data: ``{"object": {...}, ...}``: the record the event is about.
    """

    eventType: str
    data: dict[str, Any]


def sign(payload: bytes | str, secret: Secret, timestamp: int | None = None) -> str:
    """The ``officernd-signature`` header value for ``payload``: for tests and the emulator.

    Args:
        payload: the raw body, exactly as it will be sent.
        secret: the webhook secret.
        timestamp: Unix seconds; now by default.
    """
    moment = int(time.time()) if timestamp is None else int(timestamp)
    digest = _digest(_raw(payload), _key(secret), str(moment))
    return f"t={moment},signature={digest}"


def verify_signature(
    payload: bytes | str,
    header: str | None,
    secret: Secret | Iterable[Secret] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check that ``payload`` was signed by OfficeRND with ``secret``, recently.

    Args:
        payload: the raw request body (bytes, or the text as received), never a parsed and
            re-serialised object: re-serialising changes the bytes that were signed.
        header: the ``officernd-signature`` header value.
        secret: the webhook secret, or several (while rotating: any one may match);
            ``$OFFICERND_WEBHOOK_SECRET`` when ``None``.
        tolerance: the most seconds the timestamp may lie in the past or the future.
        now: the current Unix time (tests); the system clock by default.

    Returns:
        The delivery's timestamp.

    Raises:
        WebhookSignatureError: which check failed (never the expected signature or a secret).
        ConfigurationError: no secret given or set.
        TypeError: ``payload`` is not bytes or str.
    """
    raw = _raw(payload)
    keys = _keys(secret)
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, (int, float))
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        # nan compares false with everything: it would accept any timestamp at all.
        raise ConfigurationError(f"tolerance must be a finite number of seconds, got {tolerance!r}")
    timestamp_text, signature = _parse_header(header)
    timestamp = int(timestamp_text)
    moment = time.time() if now is None else now
    if timestamp < moment - tolerance:
        raise WebhookSignatureError(
            f"the signature's timestamp is {int(moment - timestamp)} s old, beyond the tolerance "
            f"of {tolerance:g} s: a replayed delivery, or this server's clock is off"
        )
    if timestamp > moment + tolerance:
        raise WebhookSignatureError(
            f"the signature's timestamp is {int(timestamp - moment)} s in the future, beyond the "
            f"tolerance of {tolerance:g} s: check this server's clock"
        )
    given = signature.lower().encode()
    matched = False
    for key in keys:  # every key is tried, so the time taken does not say which one matched
        expected = _digest(raw, key, timestamp_text).encode()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise WebhookSignatureError(
            "the signature does not match the body for any configured secret: the body was "
            "changed (verify the raw bytes, before any JSON parsing) or the secret is wrong"
        )
    return timestamp


def parse_event(
    payload: bytes | str,
    header: str | None,
    secret: Secret | Iterable[Secret] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Verify the signature (see :func:`verify_signature`), then decode the event.

    Raises:
        WebhookSignatureError: the signature check failed.
        WebhookPayloadError: correctly signed, but not JSON with ``eventType`` and ``data``.
    """
    verify_signature(payload, header, secret, tolerance=tolerance, now=now)
    raw = _raw(payload)
    failure = ""
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        event, failure = None, "the body is not JSON"
    if not failure and not isinstance(event, dict):
        failure = "the body is not a JSON object"
    elif not failure and not isinstance(event.get("eventType"), str):
        failure = "the event has no eventType"
    elif not failure and not isinstance(event.get("data"), dict):
        failure = "the event has no data object"
    if failure:
        raise WebhookPayloadError(f"a correctly signed delivery, but {failure}")
    result: WebhookEvent = event
    return result


# -- internals --------------------------------------------------------------------------------


def _raw(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    raise TypeError(
        f"payload must be the raw body as bytes or str, got {type(payload).__name__}: a parsed "
        "and re-serialised body no longer has the bytes OfficeRND signed"
    )


def _key(secret: Secret) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or not secret:
        raise ConfigurationError("a webhook secret must be a non-empty string")
    return secret


def _keys(secret: Secret | Iterable[Secret] | None) -> list[bytes]:
    if secret is None:
        secret = environment_value("webhook_secret")
        if secret is None:
            raise ConfigurationError(
                f"no webhook secret: pass secret=... or set {ENVIRONMENT_VARIABLE} (it is shown "
                "when the webhook is created in OfficeRND)"
            )
    if isinstance(secret, (str, bytes)):
        return [_key(secret)]
    keys = [_key(s) for s in secret]
    if not keys:
        raise ConfigurationError("no webhook secret: the list of secrets is empty")
    return keys


def _digest(raw: bytes, key: bytes, timestamp: str) -> str:
    return hmac.new(key, raw + b"." + timestamp.encode(), hashlib.sha256).hexdigest()


def _parse_header(header: str | None) -> tuple[str, str]:
    """``(timestamp, signature)`` from the header, read by position, strictly."""
    if header is None or (isinstance(header, str) and not header.strip()):
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header: the delivery is not signed")
    if not isinstance(header, str):
        raise WebhookSignatureError(
            f"the signature header must be text, got {type(header).__name__} (pass the header's "
            "value as the framework gives it, e.g. request.headers['officernd-signature'])"
        )
    if len(header) > _MAX_HEADER:
        raise WebhookSignatureError(
            f"the signature header is {len(header)} characters long; OfficeRND's has fewer "
            f"than {_MAX_HEADER}"
        )
    segments = [segment.strip() for segment in header.strip().split(",")]
    if len(segments) != 2:
        raise WebhookSignatureError(
            f"the signature header has {len(segments)} segment(s), not 2 "
            "(timestamp, then signature)"
        )
    values = []
    for position, segment in zip(("first", "second"), segments, strict=True):
        key, sep, value = segment.partition("=")
        if not sep or not _KEY.fullmatch(key.strip()):
            raise WebhookSignatureError(
                f"the {position} segment of the signature header is not key=value"
            )
        values.append(value.strip())
    timestamp, signature = values
    if not _TIMESTAMP.fullmatch(timestamp):
        raise WebhookSignatureError("the signature header's timestamp is not a decimal number")
    if not _HEX.fullmatch(signature):
        raise WebhookSignatureError(
            "the signature header's signature is not 64 hex digits (HMAC-SHA256)"
        )
    return timestamp, signature


def signature_header(headers: Mapping[str, str]) -> str | None:
    """The ``officernd-signature`` value from a mapping of headers, whatever its case."""
    for name, value in headers.items():
        if name.lower() == SIGNATURE_HEADER:
            return value
    return None
