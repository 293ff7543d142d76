"""What the token lifecycle does, as events: one shape for every front end (requests, httpx,
httpx2, the command line), sent to standard outlets.

Every event is a stdlib ``logging`` record on the ``officernd_auth.events`` logger with its
fields in ``extra=`` (``event``, ``application`` and the fields of the table in
docs/operations.rst), so JSON formatters and structlog see them as fields; with the ``otel``
extra installed (opentelemetry-api) each is also an OpenTelemetry span or measurement
(:mod:`officernd_auth.events.otel`); :func:`subscribe` hands them to a callable of yours.

Events come from the decisions around a token request (a fetch, a renewal, a 401 healed, the
budget, a server's wait, a shared store that failed over, a lock waited for), never from a
request served with the token already held: the per-request path emits nothing and costs
nothing. An event carries the application (the token endpoint's host and the masked client id),
never a secret or a token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from ..values.records import mask_client_id
from . import otel
from .event import EVENTS, Event, Value

__all__ = ["EVENTS", "Event", "application_label", "emit", "subscribe"]

logger = logging.getLogger("officernd_auth.events")

#: The subscribers (docs/lifetimes.rst: removed by the function subscribe returns).
_listeners: list[Callable[[Event], None]] = []
_listeners_lock = threading.Lock()


def subscribe(listener: Callable[[Event], None]) -> Callable[[], None]:
    """Call ``listener`` with every :class:`Event` of the process, in the thread that emits
    it; return the function that unsubscribes it. A listener that raises is logged and kept.

    A listener runs where the event happens, often under the provider's locks (as a logging
    handler does): record, count or hand the event on; never ask a provider for a token or
    wait there."""
    with _listeners_lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _listeners_lock, contextlib.suppress(ValueError):  # unsubscribed twice
            _listeners.remove(listener)

    return unsubscribe


def application_label(token_url: str, client_id: str) -> str:
    """``host/masked-client-id``: which application an event is about, without its secret."""
    return f"{urlsplit(token_url).hostname or '?'}/{mask_client_id(client_id)}"


def emit(name: str, application: str, **fields: Value) -> None:
    """Send one event to the log, OpenTelemetry (when installed) and the subscribers."""
    level = EVENTS[name][0]
    event = Event(name, application, fields)
    if logger.isEnabledFor(level):
        shown = " ".join(f"{key}={_shown(value)}" for key, value in fields.items())
        logger.log(
            level,
            "%s %s%s",
            name,
            application,
            f" {shown}" if shown else "",
            extra={"event": name, "application": application, **fields},
        )
    for listener in (otel.record, *_listeners):
        try:
            listener(event)
        except Exception:  # an outlet's failure must not break a token request
            logger.exception("event listener %r failed", listener)


def _shown(value: Value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
