"""One budget per application: processes (and hosts) sharing a file or Redis cache stay within
OfficeRND's 5 token requests a minute together, and honour a 429 any of them saw.

The window is scaled down (OfficeRND's is 60 s; ``budget_window`` and the emulator's
``rate_window`` are set to WINDOW) so that two windows fit in a few seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from multiprocess import read_line, results_of
from redis_server import REDIS_SERVER, RedisServer, free_port

from officernd_auth import OfficeRNDSession, RateLimitedError, TokenEndpointError, TokenProvider
from officernd_auth.testing import App, FakeOfficeRND, Fault

SCOPE = "flex.community.members.read"
WINDOW = 2.0

WORKER = textwrap.dedent(
    """
    import json, sys, time, warnings
    from officernd_auth.errors import TokenCacheWarning
    warnings.simplefilter("always")
    fallbacks = []  # the shared store did not answer: this worker fell back to its own budget
    warnings.showwarning = lambda message, category, *_: fallbacks.append(str(message))
    from officernd_auth import OfficeRNDAuthError, RateLimitedError, TokenProvider
    from officernd_auth.core.policy import RetryPolicy

    # When this worker asked its budget for each token request it let out (the time the budget
    # counts it at), and the longest time from there to the end of that request (an upper
    # bound of the trip to the server: waits for the shared store's lock and stalls included).
    spends, trip = [], 0.0
    spend = RetryPolicy.spend
    def spending(self, budget, key):
        asked = time.time()
        refused = spend(self, budget, key)
        if refused is None:
            spends.append(asked)
        return refused
    RetryPolicy.spend = spending

    client_id, secret, token_url, cache, window = sys.argv[1:6]
    provider = TokenProvider(client_id, secret, "flex.community.members.read",
                             token_url=token_url, token_cache=cache,
                             budget_window=float(window), max_token_retries=0)
    print("ready", flush=True)
    start_at, end_at = map(float, sys.stdin.readline().split())  # when every worker is ready
    while time.time() < start_at:
        time.sleep(0.005)
    refusals, failures, messages = 0, 0, set()
    while time.time() < end_at:
        before = len(spends)
        try:
            provider.get_token()
        except RateLimitedError as exc:
            refusals += 1
            messages.add(exc.message.split(";")[0])
        except OfficeRNDAuthError:
            failures += 1
        if len(spends) > before:
            trip = max(trip, time.time() - spends[-1])
        time.sleep(0.02)
    print(json.dumps({"sent": provider.token_requests, "refusals": refusals, "fallbacks": fallbacks,
                      "failures": failures, "messages": sorted(messages), "spends": spends,
                      "trip": trip}))
    """
)


@pytest.fixture(params=["file", "redis"])
def shared_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A token cache every worker shares: a directory, or a real redis-server's URL."""
    if request.param == "file":
        yield str(tmp_path / "cache")
        return
    pytest.importorskip("redis")
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    # Redis answers within 1 s on any sane machine; CI's loaded one has taken longer, and a
    # worker whose Redis call times out falls back to its own budget (by design), which is not
    # what these tests are about.
    yield server.url + "?socket_timeout=5&socket_connect_timeout=5"
    server.stop()


def _run(
    fake: FakeOfficeRND, app: App, secret: str, cache: str, workers: int, seconds: float
) -> list[dict[str, Any]]:
    """``workers`` processes asking for a token together for ``seconds``, from one moment after
    every one of them is up (however slowly a loaded machine starts them)."""
    args = (app.client_id, secret, fake.token_url, cache, str(WINDOW))
    started = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for worker in started:
        assert read_line(worker) == "ready", worker.communicate(timeout=60)
    start_at = time.time() + 0.3
    for worker in started:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at} {start_at + seconds}\n")
        worker.stdin.flush()  # communicate() closes it
    return results_of(started)


def test_a_fleet_with_a_wrong_secret_stays_within_the_budget_together(shared_cache: str) -> None:
    workers = 12 if shared_cache.startswith("redis") else 8
    with FakeOfficeRND(rate_window=WINDOW) as fake:
        app = fake.add_app([SCOPE])
        # past two windows (each counted with its margin of 1 s), not three
        results = _run(fake, app, "a-rotated-secret", shared_cache, workers, seconds=WINDOW + 1.5)
        statuses = [record.status for record in fake.token_requests]
        times = [
            round(record.time - fake.token_requests[0].time, 3) for record in fake.token_requests
        ]
    assert [r["fallbacks"] for r in results] == [[]] * workers  # the shared store answered
    assert len(statuses) >= 5, times
    assert sum(r["sent"] for r in results) == len(statuses)
    # The shared budget let at most 5 out in any window and its margin of 1 s, for all of them
    # together: what the budget itself decides, whatever the machine does next.
    spends = sorted(t for r in results for t in r["spends"])
    assert len(spends) == len(statuses)
    # (less 10 ms: the budget reads its clock a moment after the worker's ``asked``)
    assert max(sum(t <= u < t + WINDOW + 0.99 for u in spends) for t in spends) <= 5, spends
    # And so at most 5 arrived in any window (the emulator counts arrivals as OfficeRND does,
    # and would have answered 429 to a sixth), however long the loaded machine stalled a
    # worker between its budget's yes and its request's arrival: a request is counted from the
    # latest moment it could arrive until its answer, then from its answer.
    busiest = max(sum(t <= u < t + WINDOW for u in times) for t in times)
    assert busiest <= 5, (times, [r["sent"] for r in results], max(r["trip"] for r in results))
    assert 429 not in statuses  # our budget said no before OfficeRND's limit had to
    assert sum(r["refusals"] for r in results) > 0
    messages = {m for r in results for m in r["messages"]}
    assert any("counted for every process sharing" in m for m in messages), messages


def test_a_429_seen_by_one_process_holds_every_process_sharing_the_cache(
    shared_cache: str,
) -> None:
    with FakeOfficeRND(rate_window=WINDOW) as fake:
        app = fake.add_app([SCOPE])
        fake.fail_next_token_requests(Fault.rate_limited(retry_after=20))
        provider = TokenProvider(
            app.client_id, app.client_secret, SCOPE, token_url=fake.token_url,
            token_cache=shared_cache,
        )  # fmt: skip
        with pytest.raises(RateLimitedError, match="429"):
            provider.get_token()
        results = _run(fake, app, app.client_secret, shared_cache, 6, seconds=1.0)
        assert fake.token_request_count == 1  # the one that was answered 429
    assert all(r["sent"] == 0 and r["refusals"] > 0 for r in results), results
    for result in results:
        assert result["messages"], result
        for message in result["messages"]:
            assert "answered 429" in message
            assert "another process sharing" in message


def test_the_cli_never_runs_into_officernds_limit(tmp_path: Path) -> None:
    """Three runs with a wrong secret, one with the right one, then calls that need another
    token: the fifth token request is the last one sent, and what comes after says when to
    retry instead of being answered 429."""
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        app = fake.add_app([SCOPE, "flex.community.companies.read"])
        env = {
            **os.environ,
            "OFFICERND_TOKEN_URL": fake.token_url,
            "OFFICERND_API_URL": fake.api_url,
            "OFFICERND_ORG": "acme",
            "OFFICERND_CLIENT_ID": app.client_id,
            "OFFICERND_SCOPE": SCOPE,
            "OFFICERND_TOKEN_CACHE": str(tmp_path / "cache"),
        }
        cli = [sys.executable, "-m", "officernd_auth"]
        for secret in ["wrong", "wrong", "wrong", app.client_secret]:
            subprocess.run([*cli, "token"], env={**env, "OFFICERND_CLIENT_SECRET": secret},
                           capture_output=True, check=False, timeout=60)  # fmt: skip
        env["OFFICERND_CLIENT_SECRET"] = app.client_secret
        last = None
        for _ in range(3):
            last = subprocess.run(
                [*cli, "get", "members", "--scope", "flex.community.companies.read"],
                env=env, capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
        statuses = [record.status for record in fake.token_requests]
    assert statuses.count(401) == 3
    assert len(statuses) == 5
    assert 429 not in statuses
    assert last is not None
    assert last.returncode == 1
    assert "retry in" in last.stderr
    assert json.dumps(app.client_secret) not in last.stderr


def _retrying_session(make_session: Callable[..., OfficeRNDSession]) -> OfficeRNDSession:
    """A session with the "retry everything" adapter users mount for API calls."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = make_session(token_deadline=5.0, sleep=time.sleep, backoff=0.05)
    retry_everything = Retry(
        total=8, backoff_factor=0.1, status_forcelist=[429, 500, 502, 503, 504],
        allowed_methods=None,
    )  # fmt: skip
    session.mount("http://", HTTPAdapter(max_retries=retry_everything))
    return session


def test_a_retrying_adapter_sends_one_token_post_per_attempt(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = _retrying_session(make_session)
    fake.fail_next_token_requests(Fault.server_error(503), count=100)
    started = time.monotonic()
    with pytest.raises(TokenEndpointError, match="503"):
        session.get("members")
    assert time.monotonic() - started < 5.0  # within token_deadline
    assert fake.token_request_count == 3  # one POST per attempt: the first and 2 retries


def test_a_retrying_adapter_does_not_sleep_a_retry_after_under_our_lock(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = _retrying_session(make_session)
    fake.fail_next_token_requests(Fault.rate_limited(retry_after=30), count=100)
    started = time.monotonic()
    with pytest.raises(RateLimitedError, match="wait 30 s"):
        session.get("members")
    assert time.monotonic() - started < 5.0  # urllib3 did not sleep the 30 s
    assert fake.token_request_count == 1
