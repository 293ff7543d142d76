"""The fault matrix: every token-endpoint fault, what the library does, how many requests it costs.

The test suite runs each row through both entry points, at the first fetch and at a renewal;
``docs/fault-matrix.rst`` is rendered from this same table (``python tests/fault_matrix.py``)
and a test fails if the two differ, so the published matrix cannot drift from what is tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from officernd_auth import (
    InvalidClientError,
    InvalidScopeError,
    OfficeRNDAuthError,
    RateLimitedError,
    ScopeNotGrantedError,
    TokenEndpointError,
)
from officernd_auth.testing import Fault

#: The library's default: 2 retries of 5xx and transport failures, so 3 attempts at most.
ATTEMPTS = 3


@dataclass(frozen=True)
class Row:
    id: str
    description: str
    fault: Callable[[], Fault]
    times: int  # how many token requests in a row get the fault
    outcome: type[OfficeRNDAuthError] | None  # None: the call recovers and succeeds
    token_requests: int  # what the failed (or recovered) call costs
    retry_after: float | None = None


ROWS = [
    Row("5xx-once", "503 with an HTML page, once", Fault.server_error, 1, None, 2),
    Row(
        "500-html",
        "500 with an HTML page, every time",
        lambda: Fault.server_error(500),
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row(
        "502-html",
        "502 with an HTML page, every time",
        lambda: Fault.server_error(502),
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row(
        "503-html",
        "503 with an HTML page, every time",
        Fault.server_error,
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row(
        "500-empty",
        "500 with an empty body, every time",
        lambda: Fault.empty_body(500),
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row("200-not-json", "200 whose body is an HTML page", Fault.not_json, 1, TokenEndpointError, 1),
    Row(
        "200-empty",
        "200 with an empty body",
        lambda: Fault.empty_body(200),
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "no-access-token",
        "200 JSON without access_token",
        Fault.no_access_token,
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "expires-in-numeric-string",
        'expires_in sent as the string "3599"',
        Fault.expires_in_string,
        1,
        None,
        1,
    ),
    Row(
        "expires-in-word",
        'expires_in sent as "soon"',
        lambda: Fault.expires_in("soon"),
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "expires-in-negative",
        "expires_in -60",
        lambda: Fault.expires_in(-60),
        1,
        TokenEndpointError,
        1,
    ),
    Row("expires-in-zero", "expires_in 0", lambda: Fault.expires_in(0), 1, TokenEndpointError, 1),
    Row(
        "expires-in-huge",
        "expires_in 10^12 s",
        lambda: Fault.expires_in(10**12),
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "expires-in-missing",
        "no expires_in (an hour is assumed, as documented)",
        Fault.no_expires_in,
        1,
        None,
        1,
    ),
    Row(
        "slow-once",
        "answer slower than the token timeout, once",
        lambda: Fault.slow(1.0),
        1,
        None,
        2,
    ),
    Row(
        "slow",
        "answer slower than the token timeout, every time",
        lambda: Fault.slow(1.0),
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row("drop-once", "connection dropped without an answer, once", Fault.drop, 1, None, 2),
    Row(
        "drop",
        "connection dropped without an answer, every time",
        Fault.drop,
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row(
        "429-retry-after",
        "429 with Retry-After: 30",
        lambda: Fault.rate_limited(30),
        1,
        RateLimitedError,
        1,
        retry_after=30.0,
    ),
    Row(
        "429",
        "429 without Retry-After (blocks for a minute)",
        Fault.rate_limited,
        1,
        RateLimitedError,
        1,
    ),
    Row(
        "narrowed-scope",
        "fewer scopes granted than requested",
        Fault.narrow_scope,
        1,
        ScopeNotGrantedError,
        1,
    ),
    Row(
        "no-scope",
        "no scope in the answer (all requested scopes granted)",
        Fault.no_scope,
        1,
        None,
        1,
    ),
    Row(
        "oversized",
        "200 with a 1 MB body (read no further than 64 KiB)",
        Fault.oversized,
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "dripping",
        "a body dripped a byte every 50 ms, every time (each attempt cut at the read timeout)",
        Fault.drip,
        ATTEMPTS,
        TokenEndpointError,
        ATTEMPTS,
    ),
    Row(
        "deeply-nested",
        "200 with JSON nested 100,000 deep",
        Fault.deeply_nested,
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "bad-token-characters",
        "access_token with CR, LF and tab (outside RFC 6750 b64token)",
        Fault.bad_token_characters,
        1,
        TokenEndpointError,
        1,
    ),
    Row(
        "invalid-client",
        "400 invalid_client",
        lambda: Fault.respond(400, '{"error": "invalid_client"}'),
        1,
        InvalidClientError,
        1,
    ),
    Row(
        "invalid-scope",
        "400 invalid_scope",
        lambda: Fault.respond(400, '{"error": "invalid_scope", "error_description": "nope"}'),
        1,
        InvalidScopeError,
        1,
    ),
]


def render() -> str:
    """The matrix as an RST document."""
    header = ("fault", "what the caller gets", "token requests", "next call")
    rows = []
    for row in ROWS:
        outcome = "the call succeeds" if row.outcome is None else f"``{row.outcome.__name__}``"
        if row.retry_after is not None:
            outcome += f" (``retry_after={row.retry_after:g}``)"
        following = "succeeds"
        if row.outcome is RateLimitedError:
            following = "succeeds once Retry-After has passed (no request before)"
        rows.append((row.description, outcome, str(row.token_requests), following))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    body = [rule, line(header), rule, *(line(r) for r in rows), rule]
    title = "Fault matrix"
    intro = (
        "Every fault the emulator can inject at the token endpoint, what an API call through\n"
        "``OfficeRNDSession`` or ``OfficeRNDAuth`` then does, and how many token requests it\n"
        "costs (default settings: 2 retries with backoff for 5xx and transport failures, a\n"
        "budget of 5 token requests a minute). Each row is tested through both entry points,\n"
        "at the first fetch and at a renewal. Generated from ``tests/fault_matrix.py``\n"
        "(``python tests/fault_matrix.py > docs/fault-matrix.rst``); a test keeps them equal."
    )
    return "\n".join([title, "=" * len(title), "", intro, "", *body]) + "\n"


if __name__ == "__main__":
    print(render(), end="")
