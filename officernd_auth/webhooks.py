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

A public path to ``officernd_auth.core.webhooks``, where the code is.
"""

from __future__ import annotations

from .core.webhooks import (
    DEFAULT_TOLERANCE,
    ENVIRONMENT_VARIABLE,
    SIGNATURE_HEADER,
    WebhookEvent,
    parse_event,
    sign,
    signature_header,
    verify_signature,
)

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
