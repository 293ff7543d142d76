"""The token exchange as data (``officernd_auth.core.exchange``): the request an adapter sends, the
bounds on reading the answer and what the answer comes to, without any I/O or HTTP library."""

from __future__ import annotations

import json
import time

import pytest

from officernd_auth import InvalidClientError, RateLimitedError, TokenEndpointError
from officernd_auth.core.client import TokenClient
from officernd_auth.core.exchange import (
    MAX_RESPONSE_BYTES,
    AnswerReader,
    TransportError,
    read_token,
    text_of,
)
from officernd_auth.values.redact import Secret

URL = "https://identity.officernd.com/oauth/token"
SECRET = "s3cr3t/+value"
SCOPES = ("flex.community.members.read",)


def _read(status: int, body: object, headers: dict[str, str] | None = None) -> object:
    text = body if isinstance(body, str) else json.dumps(body)
    return read_token(
        status, headers or {}, text, SCOPES, 1000.0,
        token_url=URL, client_id="id", secret=Secret(SECRET),
    )  # fmt: skip


def test_the_request_is_data_and_its_repr_hides_the_body() -> None:
    client = TokenClient(URL, "id", SECRET, timeout=(3.0, 7.0))
    request = client.request(SCOPES, headers={"X-Trace": "1"})
    assert (request.method, request.url) == ("POST", URL)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Cache-Control"] == "no-store"
    assert request.headers["X-Trace"] == "1"
    assert "grant_type=client_credentials" in request.body
    assert (request.connect_timeout, request.read_timeout) == (3.0, 7.0)
    assert "s3cr3t" not in repr(request)
    assert "s3cr3t" not in str(request)


def test_the_reader_stops_at_the_size_bound() -> None:
    reader = AnswerReader({}, time.monotonic() + 60)
    chunk = b"x" * 8192
    fed = 0
    while reader.feed(chunk):
        fed += 1
    assert fed * len(chunk) <= MAX_RESPONSE_BYTES < (fed + 1) * len(chunk)
    with pytest.raises(TokenEndpointError, match="over the 64 KiB limit") as caught:
        reader.content(URL, 200)
    assert caught.value.status_code == 200
    assert not caught.value.retryable


def test_a_declared_length_over_the_bound_is_refused_before_reading() -> None:
    reader = AnswerReader({"Content-Length": str(MAX_RESPONSE_BYTES + 1)}, time.monotonic() + 60)
    assert reader.failure
    with pytest.raises(TokenEndpointError, match="bytes, over the 64 KiB limit"):
        reader.content(URL, 503)


def test_a_dripping_or_cut_answer_is_a_retryable_transport_failure() -> None:
    slow = AnswerReader({}, time.monotonic() - 1)  # the read deadline has passed
    assert slow.feed(b"{") is False
    with pytest.raises(TokenEndpointError, match="answered too slowly") as caught:
        slow.content(URL, 200)
    assert caught.value.retryable
    assert caught.value.status_code is None
    cut = AnswerReader({}, time.monotonic() + 60)
    cut.cut(TransportError("cut", "RemoteProtocolError"))
    with pytest.raises(TokenEndpointError, match="dropped the connection mid-answer"):
        cut.content(URL, 200)


def test_a_token_answer_becomes_a_token() -> None:
    token = _read(200, {"access_token": "abc", "token_type": "Bearer", "expires_in": 60})
    assert token.access_token == "abc"  # type: ignore[attr-defined]
    assert token.expires_at == 1060.0  # type: ignore[attr-defined]
    assert token.scopes == frozenset(SCOPES)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (401, {"error": "invalid_client"}, {}, InvalidClientError),
        (429, "", {"Retry-After": "30"}, RateLimitedError),
        (503, "down", {}, TokenEndpointError),
        (200, "<html>", {}, TokenEndpointError),
        (200, {"access_token": "a b"}, {}, TokenEndpointError),
    ],
)
def test_every_other_answer_is_a_typed_error_without_the_secret(
    status: int, body: object, headers: dict[str, str], expected: type[Exception]
) -> None:
    echoed = body if not isinstance(body, str) else body + SECRET
    with pytest.raises(expected) as caught:
        _read(status, echoed, headers)
    assert SECRET not in str(caught.value)
    if expected is RateLimitedError:
        assert caught.value.retry_after == 30.0  # type: ignore[attr-defined]


def test_the_charset_of_the_answer_is_honoured() -> None:
    assert text_of({"Content-Type": "application/json; charset=latin-1"}, b"\xe9") == "\xe9"
    assert text_of({"Content-Type": "application/json; charset=nonsense"}, b"ok") == "ok"
    assert text_of({}, "é".encode()) == "é"
