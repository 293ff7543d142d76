"""The token lifecycle through both entry points: fetch, reuse, renew, single flight, budget."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from officernd_auth import (
    ConfigurationError,
    MemoryTokenCache,
    OfficeRNDAuth,
    OfficeRNDSession,
    RateLimitedError,
    ScopeError,
    Token,
    TokenEndpointError,
)
from officernd_auth.provider import wait_bound
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault

MEMBERS = "/api/v2/organizations/acme/members"


class Client:
    """One entry point, used the way its users use it."""

    def __init__(self, kind: str, fake: FakeOfficeRND, target: OfficeRNDSession | OfficeRNDAuth):
        self.kind = kind
        self.fake = fake
        self.target = target
        self.http = target if isinstance(target, OfficeRNDSession) else requests.Session()
        if isinstance(target, OfficeRNDAuth):
            self.http.auth = target

    def get(self, path: str = MEMBERS, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.http.get(self.fake.api_url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.http.post(self.fake.api_url + path, **kwargs)

    @property
    def provider(self) -> Any:
        return self.target.provider


def errors_of_calls_at_once(client: Client, threads: int) -> list[BaseException]:
    """Make ``threads`` calls released together; return what each one raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker() -> None:
        barrier.wait()
        try:
            client.get()
        except Exception as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


@pytest.fixture(params=["session", "auth"])
def make_client(
    request: pytest.FixtureRequest,
    fake: FakeOfficeRND,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
) -> Callable[..., Client]:
    def factory(**overrides: Any) -> Client:
        if request.param == "session":
            return Client("session", fake, make_session(**overrides))
        return Client("auth", fake, make_auth(**overrides))

    return factory


def test_construction_is_offline(make_client: Callable[..., Client], fake: FakeOfficeRND) -> None:
    make_client()
    make_client(scope=["flex.community.members.read"])
    assert fake.token_request_count == 0


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("client_id", "OFFICERND_CLIENT_ID"),
        ("client_secret", "OFFICERND_CLIENT_SECRET"),
        ("scope", "OFFICERND_SCOPE"),
    ],
)
def test_missing_setting_names_argument_and_variable(
    make_client: Callable[..., Client], missing: str, variable: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_client(**{missing: None})
    assert f"{missing} is missing" in str(info.value)
    assert variable in str(info.value)
    assert isinstance(info.value, ValueError)


def test_environment_fallback(
    monkeypatch: pytest.MonkeyPatch, fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    monkeypatch.setenv("OFFICERND_CLIENT_ID", app.client_id)
    monkeypatch.setenv("OFFICERND_CLIENT_SECRET", app.client_secret)
    monkeypatch.setenv("OFFICERND_SCOPE", "flex.community.members.read")
    monkeypatch.setenv("OFFICERND_ORG", "acme")
    monkeypatch.setenv("OFFICERND_TOKEN_URL", fake.token_url)
    monkeypatch.setenv("OFFICERND_API_URL", fake.api_url)
    session = OfficeRNDSession(clock=clock)
    assert session.get("members").status_code == 200
    auth = OfficeRNDAuth(clock=clock)  # allowed_hosts default includes OFFICERND_API_URL's host
    assert requests.get(fake.api_url + MEMBERS, auth=auth, timeout=5).status_code == 200
    assert fake.token_request_count == 1


def test_first_request_makes_exactly_one_token_request(
    make_client: Callable[..., Client], fake: FakeOfficeRND, app: App
) -> None:
    client = make_client(scope="  flex.community.members.read\n flex.space.bookings.read ")
    assert client.get().status_code == 200
    assert fake.token_request_count == 1
    record = fake.token_requests[0]
    assert record.content_type == "application/x-www-form-urlencoded"
    assert record.auth_method == "body"
    assert record.status == 200
    assert dict(record.form) == {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "scope": "flex.community.members.read flex.space.bookings.read",
    }
    assert fake.api_requests[-1].authorization == client.provider.current_token().authorization


def test_token_reused_then_renewed_before_expiry(
    make_client: Callable[..., Client], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    client = make_client(leeway=60)
    for _ in range(5):
        assert client.get().status_code == 200
    assert fake.token_request_count == 1
    clock.advance(3599 - 61)
    assert client.get().status_code == 200
    assert fake.token_request_count == 1
    clock.advance(2)  # now inside the leeway: renewed before the request goes out
    assert client.get().status_code == 200
    assert fake.token_request_count == 2
    assert [r.status for r in fake.api_requests] == [200] * 7


def test_short_lived_tokens_are_still_reused(
    make_client: Callable[..., Client], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    fake.expires_in = 30
    client = make_client(leeway=60)
    for _ in range(3):
        assert client.get().status_code == 200
        clock.advance(5)
    assert fake.token_request_count == 1  # leeway 60 clamped to 15 s of a 30 s token
    clock.advance(1)
    assert client.get().status_code == 200
    assert fake.token_request_count == 2


def test_single_flight_across_threads(
    make_client: Callable[..., Client], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    client = make_client()
    fake.fail_next_token_requests(Fault.slow(0.3))
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def worker() -> None:
        barrier.wait()
        statuses.append(client.get().status_code)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 16
    assert fake.token_request_count == 1
    clock.advance(3600)
    threads = [threading.Thread(target=worker) for _ in range(16)]
    barrier.reset()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.token_request_count == 2


def test_threads_share_one_failure_instead_of_repeating_it(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    client = make_client(max_token_retries=0)
    fake.fail_next_token_requests(dataclasses.replace(Fault.server_error(), delay=0.3))
    errors = errors_of_calls_at_once(client, 8)
    assert [type(e) for e in errors] == [TokenEndpointError] * 8, errors
    assert fake.token_request_count == 1
    assert client.get().status_code == 200  # the next call after the fault clears succeeds


def test_locks_are_per_credential(fake: FakeOfficeRND, clock: FakeClock) -> None:
    slow_app = fake.add_app(["flex.community.members.read"])
    quick_app = fake.add_app(["flex.community.members.read"])
    common = {
        "scope": "flex.community.members.read",
        "org": "acme",
        "clock": clock,
        "token_url": fake.token_url,
        "api_url": fake.api_url,
    }
    slow = OfficeRNDSession(slow_app.client_id, slow_app.client_secret, **common)
    quick = OfficeRNDSession(quick_app.client_id, quick_app.client_secret, **common)
    fake.fail_next_token_requests(Fault.slow(3.0))
    slow_thread = threading.Thread(target=slow.get, args=("members",))
    slow_thread.start()
    fake.wait_for_token_requests(1)  # the slow client holds its lock, waiting on the endpoint
    started = time.perf_counter()
    assert quick.get("members").status_code == 200
    assert time.perf_counter() - started < 2.0  # not held by the other client's 3 s
    assert slow_thread.is_alive()
    slow_thread.join()


def test_objects_with_same_credentials_share_the_token(
    make_client: Callable[..., Client], fake: FakeOfficeRND, app: App
) -> None:
    assert make_client().get().status_code == 200
    assert make_client().get().status_code == 200  # a new object, e.g. a re-run notebook cell
    assert fake.token_request_count == 1
    assert make_client(scope="flex.community.members.read").get().status_code == 200
    assert fake.token_request_count == 2  # another scope set is another credential


def test_a_different_secret_never_gets_the_cached_token(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    assert make_client().get().status_code == 200
    impostor = make_client(client_secret="not-the-secret")
    with pytest.raises(Exception, match="invalid_client"):
        impostor.get()
    assert fake.token_request_count == 2


def test_custom_token_cache(make_client: Callable[..., Client], fake: FakeOfficeRND) -> None:
    class RecordingCache(MemoryTokenCache):
        def __init__(self) -> None:
            super().__init__()
            self.sets: list[str] = []

        def set(self, key: str, token: Token) -> None:
            self.sets.append(key)
            super().set(key, token)

    cache = RecordingCache()
    client = make_client(token_cache=cache)
    client.get()
    client.get()
    assert len(cache.sets) == 1
    assert cache.get(cache.sets[0]) is not None
    other = make_client(token_cache=MemoryTokenCache())
    other.get()
    assert fake.token_request_count == 2  # separate caches do not share


def test_token_cache_must_follow_the_protocol(make_client: Callable[..., Client]) -> None:
    with pytest.raises(ConfigurationError, match="get"):
        make_client(token_cache=object())


def test_budget_refuses_the_sixth_request_without_sending(
    make_client: Callable[..., Client], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    client = make_client()
    for _ in range(5):
        client.provider.fetch_token()
    with pytest.raises(RateLimitedError) as info:
        client.provider.fetch_token()
    assert fake.token_request_count == 5
    # the minute, and a second's margin: the server counts a request when it arrives
    assert info.value.retry_after == pytest.approx(61.0)
    assert "not sent" in str(info.value)
    clock.advance(60)
    with pytest.raises(RateLimitedError):
        client.provider.fetch_token()
    clock.advance(1)
    client.provider.fetch_token()
    assert fake.token_request_count == 6


def test_budget_counts_failures_and_is_a_parameter(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    client = make_client(token_budget=2, max_token_retries=0)
    fake.fail_next_token_requests(Fault.server_error(), count=5)
    for _ in range(2):
        with pytest.raises(Exception, match="HTTP 503"):
            client.get()
    with pytest.raises(RateLimitedError, match="The last token request failed"):
        client.get()
    assert fake.token_request_count == 2


def test_budget_is_shared_by_objects_of_one_client(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    for scope in (
        "flex.community.members.read",
        "flex.space.bookings.read",
        "flex.space.locations.read",
        "flex.community.members.update",
        "flex.community.members.delete",
    ):
        make_client(scope=scope).provider.fetch_token()
    with pytest.raises(RateLimitedError):
        make_client(scope="flex.community.members.create").provider.fetch_token()
    assert fake.token_request_count == 5


def test_server_429_blocks_further_attempts_for_retry_after(
    make_client: Callable[..., Client], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    client = make_client()
    fake.fail_next_token_requests(Fault.rate_limited(retry_after=20))
    with pytest.raises(RateLimitedError) as info:
        client.get()
    assert info.value.retry_after == 20
    assert info.value.status_code == 429
    with pytest.raises(RateLimitedError):
        client.get()
    assert fake.token_request_count == 1
    clock.advance(21)
    assert client.get().status_code == 200


def test_5xx_is_retried_with_backoff_inside_the_budget(
    make_client: Callable[..., Client], fake: FakeOfficeRND, sleeps: list[float]
) -> None:
    client = make_client()
    fake.fail_next_token_requests(Fault.server_error(), count=2)
    assert client.get().status_code == 200
    assert fake.token_request_count == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_retries_stop_when_the_budget_is_spent(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    client = make_client(token_budget=2, max_token_retries=5)
    fake.fail_next_token_requests(Fault.server_error(), count=10)
    with pytest.raises(Exception, match="HTTP 503"):
        client.get()
    assert fake.token_request_count == 2


def test_fetch_token_always_fetches(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    client = make_client()
    first = client.provider.fetch_token()
    second = client.provider.fetch_token()
    assert first.access_token != second.access_token
    assert fake.token_request_count == 2
    assert client.provider.get_token() == second


def test_scope_typo_is_caught_before_the_network(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    with pytest.raises(ScopeError, match=r"did you mean 'flex\.community\.members\.read'"):
        make_client(scope="flex.community.member.read")
    assert fake.token_request_count == 0


def test_waiting_threads_share_the_error_of_retries_that_ran_out_of_budget(
    make_client: Callable[..., Client], fake: FakeOfficeRND
) -> None:
    client = make_client(token_budget=2, max_token_retries=5)
    fake.fail_next_token_requests(dataclasses.replace(Fault.server_error(), delay=0.2), 10)
    errors = errors_of_calls_at_once(client, 6)
    assert fake.token_request_count == 2
    assert [type(e) for e in errors] == [TokenEndpointError] * 6, errors


@pytest.mark.parametrize(
    ("timeout", "bound"),
    [(None, math.inf), ((None, None), math.inf), (5, 5.0), ((3, 7), 10.0), ((None, 7), 7.0)],
)
def test_a_requests_timeout_bounds_the_wait_for_a_token(timeout: Any, bound: float) -> None:
    # (None, None) means "no timeout" to requests: it must not become a wait of 0 seconds.
    assert wait_bound(timeout) == bound


def _token_request_in_flight(session: OfficeRNDSession, fake: FakeOfficeRND) -> threading.Thread:
    """Another thread's call, whose token request the emulator holds for 3 s."""
    fake.fail_next_token_requests(Fault.slow(3.0))
    other = threading.Thread(target=session.get, args=("members",))
    other.start()
    fake.wait_for_token_requests(1)
    assert fake.token_request_count == 1
    return other


def test_a_session_call_with_a_timeout_under_token_deadline_waits_no_longer_for_a_token(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()  # token_deadline 60 s; the default call timeout (10, 60) is not under
    other = _token_request_in_flight(session, fake)
    started = time.monotonic()
    with pytest.raises(TokenEndpointError, match=r"no token within 0\.3 s"):
        session.get("members", timeout=0.3)
    assert time.monotonic() - started < 2.0  # not until the other thread's token arrived
    other.join()
    assert session.get("members", timeout=0.3).status_code == 200  # now cached: no wait at all
    assert fake.token_request_count == 1


def test_a_no_timeout_pair_waits_for_another_threads_token(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    # requests reads (None, None) as "no timeout": the wait is token_deadline's, not 0 s.
    session = make_session()
    other = _token_request_in_flight(session, fake)
    token = session.provider.get_token((None, None))
    other.join()
    assert token.access_token == session.provider.get_token().access_token
    assert fake.token_request_count == 1
