"""May I send a token request, and may I retry: every rule of the retry policy and the budget, in
one place. The errors say whether they are retryable; the policy decides from that alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from officernd_auth import (
    InvalidClientError,
    RateLimitedError,
    TokenEndpointError,
    TokenProvider,
    TokenRequestError,
)
from officernd_auth.core.policy import Budget, RetryPolicy
from officernd_auth.errors import InvalidScopeError
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault
from officernd_auth.testing.faults import Respond
from officernd_auth.values.deadline import Deadline

KEY = ("https://identity.officernd.com/oauth/token", "client")


def policy(clock: FakeClock, **overrides: float | int | None) -> RetryPolicy:
    values: dict[str, object] = {
        "max_retries": 2,
        "backoff": 0.5,
        "token_budget": 5,
        "budget_window": 60.0,
    }
    values.update(overrides)
    return RetryPolicy(clock=clock, **values)  # type: ignore[arg-type]


def test_only_retryable_errors_are_retried_and_only_so_often() -> None:
    retry = policy(FakeClock())
    deadline = Deadline(60.0)
    transient = TokenEndpointError("503", status_code=503, retryable=True)
    final = InvalidClientError("wrong secret", status_code=401)
    for attempt in range(2):
        delay = retry.retry_delay(transient, attempt, deadline)
        assert delay is not None
        assert 0.5 * 0.5 * 2**attempt <= delay <= 0.5 * 2**attempt  # backoff with jitter
    assert retry.retry_delay(transient, 2, deadline) is None  # max_retries used up
    assert retry.retry_delay(final, 0, deadline) is None
    assert retry.retry_delay(RateLimitedError("429", status_code=429), 0, deadline) is None


def test_a_backoff_that_would_pass_the_deadline_is_not_waited() -> None:
    retry = policy(FakeClock(), backoff=10.0)
    transient = TokenEndpointError("timeout", retryable=True)
    assert retry.retry_delay(transient, 0, Deadline(1.0)) is None
    assert retry.retry_delay(transient, 0, Deadline(60.0)) is not None


def test_the_budget_lets_five_out_a_minute_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    retry, budget = policy(clock), Budget()
    assert [retry.spend(budget, KEY) for _ in range(5)] == [None] * 5
    # 60 s and a margin of 1 s: the server counts a request when it arrives
    assert retry.spend(budget, KEY) == (pytest.approx(61.0), "budget")
    clock.advance(30)
    assert retry.spend(budget, KEY) == (pytest.approx(31.0), "budget")
    clock.advance(31)
    assert retry.spend(budget, KEY) is None  # the first one left the window
    assert policy(clock, token_budget=None).spend(Budget(), KEY) is None  # no limit


def test_a_429_blocks_the_budget_for_its_retry_after_or_a_window() -> None:
    clock = FakeClock()
    retry, budget = policy(clock), Budget()
    retry.server_said_wait(budget, KEY, RateLimitedError("429", retry_after=12.0))
    refused = retry.spend(budget, KEY)
    assert refused == (pytest.approx(12.0), "server")
    assert refused is not None
    refusal = retry.refusal(budget, refused, "client-12345678", None)
    assert "answered 429" in refusal.message
    assert "retry in 12 s" in refusal.message
    assert refusal.retry_after == pytest.approx(12.0)
    other = Budget()
    retry.server_said_wait(other, KEY, RateLimitedError("429 without Retry-After"))
    assert retry.spend(other, KEY) == (pytest.approx(60.0), "server")


def test_a_refusal_says_why_and_what_failed_last_without_the_client_id() -> None:
    clock = FakeClock()
    retry, budget = policy(clock, token_budget=1), Budget()
    retry.spend(budget, KEY)
    last = TokenEndpointError("the identity server failed", retryable=True)
    refusal = retry.refusal(budget, (60.0, "budget"), "client-12345678", last)
    assert "budget" in refusal.message
    assert "the identity server failed" in refusal.message
    assert "client-12345678" not in refusal.message
    assert "OFFICERND_TOKEN_CACHE" in refusal.message


@pytest.mark.parametrize(
    ("fault", "error", "retryable"),
    [
        (Fault.server_error(503), TokenEndpointError, True),
        (Fault.server_error(500), TokenEndpointError, True),
        (Fault.drop(), TokenEndpointError, True),
        (Fault.slow(1.0), TokenEndpointError, True),
        (Fault.not_json(), TokenEndpointError, False),
        (Fault.no_access_token(), TokenEndpointError, False),
        (Fault.oversized(), TokenEndpointError, False),  # a 200 over the size limit
        (Respond(502, "x" * 100_000, "text/plain", kind="big_502"), TokenEndpointError, True),
        (Respond(400, '{"error": "invalid_scope"}', kind="scope"), InvalidScopeError, False),
        (Respond(401, '{"error": "invalid_client"}', kind="client"), InvalidClientError, False),
        (Fault.rate_limited(5), RateLimitedError, False),
    ],
)
def test_the_token_client_says_whether_each_failure_is_retryable(
    fake: FakeOfficeRND, app: App, fault: Fault, error: type[TokenRequestError], retryable: bool
) -> None:
    provider = TokenProvider(
        app.client_id,
        app.client_secret,
        "flex.community.members.read",
        token_url=fake.token_url,
        max_token_retries=0,
        token_timeout=(1.0, 0.3),
    )
    fake.fail_next_token_requests(fault)
    with pytest.raises(error) as info:
        provider.get_token()
    assert type(info.value) is error
    assert info.value.retryable is retryable


def test_retryable_failures_are_retried_inside_the_budget(
    fake: FakeOfficeRND, app: App, clock: FakeClock, sleeps: list[float]
) -> None:
    make: Callable[..., TokenProvider] = lambda **o: TokenProvider(  # noqa: E731
        app.client_id,
        app.client_secret,
        "flex.community.members.read",
        token_url=fake.token_url,
        clock=clock,
        sleep=sleeps.append,
        **o,
    )
    fake.fail_next_token_requests(Fault.server_error(503), count=2)
    assert make().get_token()
    assert fake.token_request_count == 3
    assert len(sleeps) == 2
    fake.fail_next_token_requests(Fault.server_error(503), count=10)
    with pytest.raises(TokenEndpointError, match="503"):
        make(max_token_retries=10).fetch_token()
    assert fake.token_request_count == 5  # the budget stopped the retries, not max_retries
