"""Start-up time, memory over many requests and credentials, and the emulator's own speed."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import requests

from . import peers
from .common import Report, median, table
from .concurrency import console_script, herd
from .getters import cli_environment, emulator


def measure_startup(report: Report, rounds: int) -> None:
    with emulator() as fake, tempfile.TemporaryDirectory() as cache:
        env = cli_environment(fake, cache)
        commands = {
            "python -c 'import requests'": [sys.executable, "-c", "import requests"],
            "python -c 'import requests_oauthlib'": [
                sys.executable,
                "-c",
                "import requests_oauthlib",
            ],
            "python -c 'import officernd_auth'": [sys.executable, "-c", "import officernd_auth"],
            "officernd-auth token (cached)": [console_script(), "token"],
        }
        subprocess.run(
            commands["officernd-auth token (cached)"], env=env, check=True, capture_output=True
        )  # fill the cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            order = list(commands)
            random.shuffle(order)
            for name in order:
                started = time.perf_counter()
                subprocess.run(commands[name], env=env, check=True, capture_output=True)
                times[name].append(time.perf_counter() - started)
        token_requests = fake.token_request_count
    result = {name: median(values) for name, values in times.items()}
    base = result["python -c 'import requests'"]
    rows = [
        (name, f"{seconds * 1000:.0f}", f"{seconds / base:.2f}x")
        for name, seconds in result.items()
    ]
    report.tables.append(
        table(
            f"4. Start-up ({rounds} interleaved rounds, medians)",
            ("command", "ms", "vs import requests"),
            rows,
        )
    )
    ours = result["python -c 'import officernd_auth'"]
    theirs = result["python -c 'import requests_oauthlib'"]
    cli = result["officernd-auth token (cached)"]
    report.target(
        "import officernd_auth <= import requests_oauthlib",
        f"{ours / theirs:.2f}x",
        ours / theirs <= 1.0,
    )
    report.target(
        "officernd-auth token (cached) <= 0.6x a bare 'import requests' process",
        f"{cli / base:.2f}x, {token_requests} token request",
        cli / base <= 0.6,
    )


# -- 5. memory -------------------------------------------------------------------------------

MEMORY = textwrap.dedent(
    """
    import gc, json, sys
    from benchmarks.common import API, CannedAdapter, rss_bytes
    from officernd_auth import OfficeRNDSession
    from officernd_auth.cache import DEFAULT_MEMORY_CACHE
    from officernd_auth import provider

    total = int(sys.argv[1])
    session = OfficeRNDSession("id", "secret", "flex.community.members.read", org="acme")
    session.trust_env = False
    session.mount("https://", CannedAdapter())
    session.token = {"access_token": "0" * 40, "expires_in": 3599}
    for _ in range(20_000):
        session.get(API)
    gc.collect()
    before = rss_bytes()
    for _ in range(total):
        session.get(API)
    gc.collect()
    after = rss_bytes()
    print(json.dumps({"growth": after - before, "cache": len(DEFAULT_MEMORY_CACHE),
                      **provider.registry_sizes()}))
    """
)


CREDENTIALS = textwrap.dedent(
    """
    import gc, json, sys, time
    from benchmarks.common import rss_bytes
    from officernd_auth import OfficeRNDAuth, provider
    from officernd_auth.cache import DEFAULT_MEMORY_CACHE

    total = int(sys.argv[1])

    def churn(start, count):
        for i in range(start, start + count):
            auth = OfficeRNDAuth(f"tenant-{i}", "secret", "flex.community.members.read")
            # a token that has run out, as a tenant's does some time after its last call
            now = time.time()
            auth.provider.seed({"access_token": "0" * 40, "expires_at": now - 1})
            del auth

    churn(0, 20_000)  # warm up: allocator arenas, code paths
    gc.collect()
    before = rss_bytes()
    churn(20_000, total)
    gc.collect()
    after = rss_bytes()
    print(json.dumps({"growth": after - before, "cache": len(DEFAULT_MEMORY_CACHE),
                      **provider.registry_sizes()}))
    """
)


def measure_credentials(report: Report, total: int) -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", CREDENTIALS, str(total)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result = json.loads(done.stdout)
    report.tables.append(
        table(
            f"5b. Memory: creating and dropping {total:,} distinct credentials (each with a "
            "token that has expired)",
            ("RSS growth (KiB)", "cached tokens left", "flight locks left", "budgets left"),
            [(result["growth"] // 1024, result["cache"], result["flights"], result["budgets"])],
        )
    )
    report.target(
        f"memory: RSS growth after {total:,} credentials come and go < 1 MiB",
        f"{result['growth'] / 1024:.0f} KiB; {result['flights']} locks, {result['budgets']} "
        "budgets left",
        result["growth"] < 1024 * 1024,
    )


def measure_emulator(report: Report, calls: int, burst: int) -> None:
    with emulator(rate_limit=None) as fake:
        app = fake.add_app([peers.SCOPE])
        token = fake.issue_token(app)
        headers = {"Authorization": f"Bearer {token}"}
        url = fake.api_url + "/api/v2/organizations/acme/members"
        http = requests.Session()
        http.trust_env = False
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            http.get(url, params={"$limit": 1}, headers=headers, timeout=10)
            times.append(time.perf_counter() - started)
        pages = []
        for _ in range(max(1, calls // 50)):
            cursor: dict[str, str] = {}
            while True:
                started = time.perf_counter()
                body = http.get(url, params=cursor, headers=headers, timeout=10).json()
                pages.append(time.perf_counter() - started)
                if "cursorNext" not in body:
                    break
                cursor = {"$cursorNext": body["cursorNext"]}
        failures = herd(
            lambda u: requests.get(u, headers=headers, timeout=10), url + "?$limit=1", burst
        )
    one, page = median(times) * 1000, median(pages) * 1000
    report.tables.append(
        table(
            f"8. The emulator on loopback ({calls} calls, {len(pages)} pages, a burst of {burst} "
            "new connections)",
            ("one API call (ms, median)", "one page of 50 (ms, median)", "burst failures"),
            [(f"{one:.2f}", f"{page:.2f}", failures)],
        )
    )
    report.target("emulator: one API call <= 2 ms median", f"{one:.2f} ms", one <= 2.0)
    report.target(
        f"emulator: {burst} concurrent connections, none reset", f"{failures} failed", failures == 0
    )


def measure_memory(report: Report, total: int) -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-c", MEMORY, str(total)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result = json.loads(done.stdout)
    report.data["memory"] = result
    report.tables.append(
        table(
            f"5. Memory: RSS growth over {total:,} requests through one session",
            ("RSS growth (KiB)", "cached tokens", "flight locks", "budgets"),
            [
                (
                    result["growth"] // 1024,
                    result["cache"],
                    result["flights"],
                    result["budgets"],
                )
            ],
        )
    )
    report.target(
        f"memory: RSS growth over {total:,} requests < 1 MiB, no growth in caches",
        f"{result['growth'] / 1024:.0f} KiB; {result['cache']} token, {result['flights']} lock",
        result["growth"] < 1024 * 1024 and result["cache"] == 1 and result["flights"] == 1,
    )


# -- 6. scale --------------------------------------------------------------------------------
