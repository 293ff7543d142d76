"""The lifecycle events and their outlets: OpenTelemetry (spans and metrics, seen by
opentelemetry-sdk's in-memory exporters), stdlib logging's ``extra=`` fields and subscribers,
for a cold fetch, a renewal, a 401 heal, a budget refusal, a 429 with Retry-After and a shared
store's outage and recovery; never a secret or a token in any of them."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from officernd_auth import OfficeRNDSession
from officernd_auth.errors import RateLimitedError, TokenCacheWarning
from officernd_auth.events import Event, application_label, subscribe
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault

otel_sdk = pytest.importorskip("opentelemetry.sdk")

from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

_SPANS = InMemorySpanExporter()
_METRICS = InMemoryMetricReader()


@pytest.fixture(scope="module")
def otel() -> tuple[InMemorySpanExporter, InMemoryMetricReader]:
    """The process's OpenTelemetry providers, with in-memory exporters (set once: OpenTelemetry
    allows one global provider per process)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_SPANS))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[_METRICS]))
    return _SPANS, _METRICS


@pytest.fixture
def events(fake: FakeOfficeRND, app: App) -> Iterator[list[Event]]:
    """The events of this test's application and of the stores (subscribers are process-wide:
    a renewal thread another test left finishing may emit meanwhile)."""
    seen: list[Event] = []
    ours = application_label(fake.token_url, app.client_id)

    def record(event: Event) -> None:
        if event.application == ours or event.name.startswith("store."):
            seen.append(event)

    unsubscribe = subscribe(record)
    yield seen
    unsubscribe()


def _counters(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    found: dict[str, list[tuple[dict[str, Any], float]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count  # a histogram: how many were recorded
                    found.setdefault(metric.name, []).append((dict(point.attributes), value))
    return found


Counters = dict[str, list[tuple[dict[str, Any], float]]]


def _total(counters: Counters, name: str, **match: Any) -> float:
    return sum(
        value
        for attributes, value in counters.get(name, [])
        if all(attributes.get(k) == v for k, v in match.items())
    )


def _every_text(spans: Any, counters: Any, events: list[Event], records: list[Any]) -> str:
    """Everything the outlets carried, as one text to search for secrets."""
    parts: list[str] = []
    for span in spans:
        parts += [span.name, repr(dict(span.attributes or {}))]
        parts += [f"{e.name} {dict(e.attributes or {})}" for e in span.events]
    parts += [repr(counters), repr(events)]
    parts += [f"{r.getMessage()} {r.__dict__}" for r in records]
    return "\n".join(parts)


def test_otel_sees_the_token_lifecycle_and_never_a_secret(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
    events: list[Event],
    fake: FakeOfficeRND,
    clock: FakeClock,
    make_session: Callable[..., OfficeRNDSession],
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    spans, reader = otel
    spans.clear()
    caplog.set_level(logging.DEBUG, logger="officernd_auth.events")
    session = make_session(leeway=60.0)
    app_label = application_label(fake.token_url, session.provider.client_id)
    masked = app_label.partition("/")[2]

    # A cold fetch: one span with its real duration, one request counted as a success.
    assert session.get("members").status_code == 200
    fetched = [
        s
        for s in spans.get_finished_spans()
        if s.name == "officernd_auth.token.fetch"
        and (s.attributes or {}).get("officernd.client_id") == masked
    ]
    assert len(fetched) == 1
    assert fetched[0].attributes is not None
    assert fetched[0].attributes["server.address"] == fake.host
    assert fetched[0].end_time is not None
    assert fetched[0].start_time is not None
    assert fetched[0].end_time >= fetched[0].start_time
    assert [e.name for e in events] == ["token.fetched"]
    assert events[0].application == app_label

    # A renewal: inside the leeway (50 s left of the token's 3,599), the old token still served.
    clock.advance(3599 - 50)
    assert session.get("members").status_code == 200
    assert {"token.renewal_started", "token.renewal_finished"} <= {e.name for e in events}

    # A 401 healed: the server forgets every token; the session renews and sends again.
    fake.expire_tokens()
    assert session.get("members").status_code == 200
    assert "token.healed_401" in {e.name for e in events}

    # A budget refusal: five token requests a minute, this is the sixth of the window.
    clock.advance(61)
    for _ in range(5):
        session.provider.fetch_token()
    with pytest.raises(RateLimitedError):  # ours: no request sent
        session.provider.fetch_token()
    refused = [e for e in events if e.name == "budget.refused"]
    assert refused
    assert refused[-1].fields["reason"] == "budget"

    # A 429 with Retry-After.
    clock.advance(61)
    fake.fail_next_token_requests(Fault.rate_limited(7))
    with pytest.raises(RateLimitedError):
        session.provider.fetch_token()
    waits = [e for e in events if e.name == "server.wait"]
    assert waits
    assert waits[-1].fields["retry_after"] == 7.0

    # A shared store's outage and its recovery (Redis stopped and started on its port).
    from redis_server import RedisServer

    from officernd_auth.cache import RedisTokenCache

    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    cache = RedisTokenCache(redis_url + "?socket_timeout=1&socket_connect_timeout=1",
                            retry_interval=0.1)  # fmt: skip
    key = session.provider.key
    assert cache.get(key) is None
    server = RedisServer(port, tmp_path / "restarted")
    (tmp_path / "restarted").mkdir()
    _stop_redis(port)
    with pytest.warns(TokenCacheWarning, match="Redis is unreachable"):
        cache.get(key)
    server.start()
    try:
        time.sleep(0.15)  # the cache asks Redis again after its retry interval (real time)
        cache.get(key)
    finally:
        server.stop()
    outage = [
        e.name for e in events if e.name.startswith("store.") and f":{port}/" in e.application
    ]
    assert outage == ["store.down", "store.up"]

    counters = _counters(reader)
    assert _total(counters, "officernd_auth.token.requests", outcome="success") >= 8
    assert _total(counters, "officernd_auth.token.requests", outcome="failure") >= 1
    assert _total(counters, "officernd_auth.budget.refusals", **{"officernd.reason": "budget"}) >= 1
    assert _total(counters, "officernd_auth.server.waits") >= 1
    assert _total(counters, "officernd_auth.store.fallbacks") >= 1
    assert _total(counters, "officernd_auth.store.recoveries") >= 1
    assert _total(counters, "officernd_auth.token.renewals", outcome="success") >= 1
    assert _total(counters, "officernd_auth.token.heals") >= 1
    assert _total(counters, "officernd_auth.token.fetch.duration") >= 9

    # The log records carry the fields as attributes (extra=), for JSON formatters.
    logged = [r for r in caplog.records if r.name == "officernd_auth.events"]
    assert {getattr(r, "event", None) for r in logged} >= {"token.fetched", "budget.refused"}
    first = next(r for r in logged if getattr(r, "event", None) == "token.fetched")
    assert first.application.startswith(app_label)  # type: ignore[attr-defined]
    assert isinstance(first.duration, float)  # type: ignore[attr-defined]

    text = _every_text(spans.get_finished_spans(), counters, events, logged)
    client_id, secret = session.provider.client_id, session.provider.settings.client_secret
    assert secret not in text
    assert client_id not in text  # masked everywhere
    for token in fake.issued_tokens():
        assert token not in text


def _stop_redis(port: int) -> None:
    """Stop the fixture's redis-server (SHUTDOWN NOSAVE) and wait until its port is closed."""
    import socket

    import redis

    with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it goes
        redis.Redis(port=port).shutdown(nosave=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.02)
    raise AssertionError("redis-server did not stop")


def test_a_listener_that_raises_breaks_no_token_request(
    events: list[Event], make_session: Callable[..., OfficeRNDSession]
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("a listener's own bug")

    unsubscribe = subscribe(broken)
    try:
        assert make_session().get("members").status_code == 200
    finally:
        unsubscribe()
    unsubscribe()  # twice: nothing happens
    assert [e.name for e in events] == ["token.fetched"]


def test_a_request_with_the_token_held_emits_nothing(
    events: list[Event], make_session: Callable[..., OfficeRNDSession]
) -> None:
    session = make_session()
    session.get("members")
    del events[:]
    for _ in range(20):
        session.get("members")
    assert events == []
