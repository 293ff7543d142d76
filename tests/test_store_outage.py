"""The shared token store down under a fleet: 8 workers calling the API through a Redis cache
while Redis is stopped and started again, and a 9th worker starting during the outage. No API
call fails, the fleet stays within OfficeRND's 5 token requests a minute (the emulator enforces
it, so a 6th would be a 429), and no process warns more than once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from multiprocess import read_line
from redis_server import REDIS_SERVER, RedisServer, free_port

from officernd_auth.testing import FakeOfficeRND

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")

WORKER = textwrap.dedent(
    """
    import json, sys, time, warnings
    from officernd_auth import OfficeRNDSession
    from officernd_auth.cache import RedisTokenCache
    from officernd_auth.errors import TokenCacheWarning

    client_id, secret, token_url, api_url, redis_url, seconds = sys.argv[1:7]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache = RedisTokenCache(redis_url + "?socket_timeout=2&socket_connect_timeout=2",
                                retry_interval=1.0)
        session = OfficeRNDSession(client_id, secret, "flex.community.members.read",
                                   org="acme", token_url=token_url, api_url=api_url,
                                   token_cache=cache)
        calls = failures = 0
        print("ready", flush=True)
        deadline = time.time() + float(seconds)
        while time.time() < deadline:
            try:
                ok = session.get("members", params={"$limit": 1}).status_code == 200
            except Exception as exc:
                ok = False
                print(repr(exc), file=sys.stderr)
            calls += 1
            failures += not ok
            if calls == 1:
                print("called", flush=True)  # it holds the token now
            time.sleep(0.05)
    warned = [str(w.message) for w in caught if issubclass(w.category, TokenCacheWarning)]
    print(json.dumps({"calls": calls, "failures": failures, "warnings": warned,
                      "requests": session.provider.token_requests}))
    """
)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def _start(fake: FakeOfficeRND, app: object, url: str, seconds: float) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, app.client_id, app.client_secret,  # type: ignore[attr-defined]
         fake.token_url, fake.api_url, url, str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert read_line(worker) == "ready"
    return worker


@pytest.mark.parametrize(
    "outage", [4.0, pytest.param(30.0, marks=pytest.mark.slow)], ids=["4s", "30s"]
)
def test_eight_workers_ride_out_the_shared_store_going_down(
    redis_server: RedisServer, outage: float
) -> None:
    with FakeOfficeRND() as fake:  # OfficeRND's limit: 5 token requests a minute
        fake.seed_sample()
        app = fake.add_app(["flex.community.members.read"])
        run = outage + 8
        workers = [_start(fake, app, redis_server.url, run) for _ in range(8)]
        for worker in workers:  # every worker holds the token
            assert read_line(worker, timeout=run) == "called"
        redis_server.stop()
        time.sleep(outage / 2)
        late = _start(fake, app, redis_server.url, outage / 2 + 4)  # starts with Redis down
        time.sleep(outage / 2)
        redis_server.start()
        results = []
        for worker in [*workers, late]:
            out, err = worker.communicate(timeout=run + 60)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        statuses = [record.status for record in fake.token_requests]
    assert all(r["failures"] == 0 for r in results), results
    assert all(r["calls"] > 10 for r in results), results
    assert all(len(r["warnings"]) <= 1 for r in results), [r["warnings"] for r in results]
    assert late_warned(results[-1]), results[-1]
    assert set(statuses) == {200}, statuses  # never a 429
    assert len(statuses) <= 5
    assert sum(r["requests"] for r in results) == len(statuses)


def late_warned(result: dict[str, object]) -> bool:
    """The worker that started during the outage said once that Redis was unreachable."""
    warned = result["warnings"]
    return isinstance(warned, list) and len(warned) == 1 and "unreachable" in warned[0]
