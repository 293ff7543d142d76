"""The OpenTelemetry outlet of the lifecycle events (the ``otel`` extra: opentelemetry-api).

Without opentelemetry-api this module does nothing (one failed import, once). With it, the
events go to the providers the application configured (``opentelemetry-sdk``, an exporter);
with none configured, OpenTelemetry's no-op providers take them. Events happen around token
requests only, never on a request served with the held token, so neither case costs a request
anything.

- **Spans**: ``officernd_auth.token.fetch`` for each token request (its real start and end,
  status ERROR and ``error.type`` when it failed) and ``officernd_auth.lock.wait`` for a call
  that waited for another's token request; each is a child of the caller's current span. Every
  other event is an event on the current span.
- **Metrics** (meter ``officernd_auth``): counters ``officernd_auth.token.requests`` (by
  ``outcome`` and ``error.type``), ``officernd_auth.budget.refusals`` (by ``reason``),
  ``officernd_auth.server.waits`` (429s), ``officernd_auth.store.fallbacks`` and
  ``officernd_auth.store.recoveries``,
  ``officernd_auth.token.renewals`` (by ``outcome``), ``officernd_auth.token.heals``;
  histograms ``officernd_auth.token.fetch.duration`` and ``officernd_auth.wait.duration`` (s).

Attributes follow OpenTelemetry's semantic conventions where one exists (``server.address``,
``error.type``); ours are ``officernd.*``. The client id is masked; no secret or token is ever an
attribute.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .event import Event

__all__ = ["record"]

_NAME = "officernd_auth"
#: The tracer and instruments, made at the first event (docs/lifetimes.rst: kept for the process).
_state: dict[str, Any] = {}
_state_lock = threading.Lock()


def _instruments() -> dict[str, Any] | None:
    """The tracer and instruments, made on the first event; ``None`` without the extra."""
    if "ready" in _state:
        return _state["ready"]  # type: ignore[no-any-return]
    with _state_lock:
        if "ready" not in _state:
            _state["ready"] = _make()
    return _state["ready"]  # type: ignore[no-any-return]


def _make() -> dict[str, Any] | None:
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        return None
    from .. import __version__

    meter = metrics.get_meter(_NAME, __version__)
    return {
        "tracer": trace.get_tracer(_NAME, __version__),
        "trace": trace,
        "requests": meter.create_counter(
            "officernd_auth.token.requests", "{request}", "Token requests sent, by outcome"
        ),
        "refusals": meter.create_counter(
            "officernd_auth.budget.refusals", "{refusal}", "Token requests not sent: budget"
        ),
        "server_waits": meter.create_counter(
            "officernd_auth.server.waits", "{answer}", "429 answers of the token endpoint"
        ),
        "fallbacks": meter.create_counter(
            "officernd_auth.store.fallbacks", "{outage}", "Shared store outages"
        ),
        "recoveries": meter.create_counter(
            "officernd_auth.store.recoveries", "{recovery}", "Shared stores answering again"
        ),
        "renewals": meter.create_counter(
            "officernd_auth.token.renewals", "{renewal}", "Renewals in the leeway, by outcome"
        ),
        "heals": meter.create_counter(
            "officernd_auth.token.heals", "{heal}", "API 401s healed with a new token"
        ),
        "fetch_time": meter.create_histogram(
            "officernd_auth.token.fetch.duration", "s", "Time a token request took"
        ),
        "wait_time": meter.create_histogram(
            "officernd_auth.wait.duration", "s", "Time a call waited for a token"
        ),
    }


def _attributes(event: Event) -> dict[str, Any]:
    host, _, client = event.application.partition("/")
    attributes: dict[str, Any] = {"server.address": host}
    if client:
        attributes["officernd.client_id"] = client
    for key, value in event.fields.items():
        attributes["error.type" if key == "error" else f"officernd.{key}"] = value
    return attributes


def record(event: Event) -> None:
    """Turn ``event`` into spans and measurements (nothing without opentelemetry-api)."""
    otel = _instruments()
    if otel is None:
        return
    attributes = _attributes(event)
    name, fields = event.name, event.fields
    base = {k: v for k, v in attributes.items() if k in ("server.address", "officernd.client_id")}
    if name in ("token.fetched", "token.fetch_failed"):
        failed = name == "token.fetch_failed"
        outcome = {**base, "outcome": "failure" if failed else "success"}
        if failed:
            outcome["error.type"] = str(fields.get("error", "unknown"))
        otel["requests"].add(1, outcome)
        duration = float(fields.get("duration", 0.0))
        otel["fetch_time"].record(duration, outcome)
        _span(otel, "officernd_auth.token.fetch", duration, attributes, failed)
    elif name == "lock.waited":
        duration = float(fields.get("duration", 0.0))
        otel["wait_time"].record(duration, {**base, "officernd.kind": "lock"})
        _span(otel, "officernd_auth.lock.wait", duration, attributes, False)
    else:
        if name == "budget.refused":
            otel["refusals"].add(1, {**base, "officernd.reason": str(fields.get("reason", ""))})
        elif name == "server.wait":
            otel["server_waits"].add(1, base)
        elif name == "store.down":
            otel["fallbacks"].add(1, base)
        elif name == "store.up":
            otel["recoveries"].add(1, base)
        elif name in ("token.renewal_finished", "token.renewal_failed"):
            ended = "success" if name == "token.renewal_finished" else "failure"
            otel["renewals"].add(1, {**base, "outcome": ended})
        elif name == "token.healed_401":
            otel["heals"].add(1, base)
        span = otel["trace"].get_current_span()
        if span.is_recording():
            span.add_event(f"officernd_auth.{name}", attributes)


def _span(otel: dict[str, Any], name: str, seconds: float, attributes: Any, failed: bool) -> None:
    """A span for what just ended after ``seconds``: started and ended at their real times."""
    end = time.time_ns()
    span = otel["tracer"].start_span(
        name, attributes=attributes, start_time=end - int(seconds * 1e9)
    )
    if failed:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=end)
