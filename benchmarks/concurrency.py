"""Token requests under concurrency: a thundering herd, separate processes, a fleet on Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

from officernd_auth.testing import Fault

from . import peers
from .common import Report, table
from .getters import OURS, cli_environment, credentials, emulator, start_redis


def herd(get: peers.Getter, url: str, threads: int) -> int:
    failures = 0
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def worker() -> None:
        nonlocal failures
        barrier.wait()
        try:
            ok = get(url).status_code == 200
        except Exception:
            ok = False
        if not ok:
            with lock:
                failures += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failures


def measure_herd(report: Report, threads: int, lifetime: int) -> None:
    url_path = "/api/v2/organizations/acme/members?$limit=1"
    runs = []
    for name, factory in peers.LIBRARIES.items():
        fake = emulator(rate_limit=None, expires_in=lifetime)
        fake.fail_next_token_requests(Fault.slow(0.2), count=10_000)
        options = {"api_url": fake.api_url} if name == OURS[0] else {}
        get = factory(credentials(fake), **options)
        failures = herd(get, fake.api_url + url_path, threads)
        runs.append((name, fake, get, fake.token_request_count, failures))
    time.sleep(lifetime + 1.5)  # every library's token has now expired
    rows = []
    result = {}
    for name, fake, get, cold_tokens, cold_failures in runs:
        before = fake.token_request_count
        failures = herd(get, fake.api_url + url_path, threads)
        renewed = fake.token_request_count - before
        result[name] = (cold_tokens, renewed, cold_failures + failures)
        rows.append((name, cold_tokens, cold_failures, renewed, failures))
        fake.stop()
    report.data["herd"] = result
    report.tables.append(
        table(
            f"2. Thundering herd: {threads} threads at a cold start, then again after expiry "
            f"(token endpoint answering in 200 ms, {lifetime} s tokens)",
            (
                "library",
                "token requests (cold)",
                "failed",
                "token requests (after expiry)",
                "failed",
            ),
            rows,
        )
    )
    for name in OURS:
        cold, renewed, failed = result[name]
        report.target(
            f"herd: {name} makes 1 token request each time, 0 failures",
            f"{cold} + {renewed}, {failed} failed",
            cold == 1 and renewed == 1 and failed == 0,
        )


# -- 3. processes ----------------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import sys
    from officernd_auth import OfficeRNDSession
    from officernd_auth.cache import FileTokenCache
    session = OfficeRNDSession(token_cache=FileTokenCache())
    sys.stdout.write(session.provider.get_token().access_token[:4])
    """
)


def measure_processes(report: Report, processes: int, runs: int) -> None:
    rows = []
    for label, command in (
        ("officernd-auth token", [console_script(), "token"]),
        ("script with FileTokenCache", [sys.executable, "-c", SCRIPT]),
    ):
        with emulator() as fake, tempfile.TemporaryDirectory() as cache:  # real rate limit on
            env = cli_environment(fake, cache)
            outcomes: list[int] = []

            def worker(
                command: list[str] = command,
                env: dict[str, str] = env,
                outcomes: list[int] = outcomes,
            ) -> None:
                for _ in range(runs):
                    done = subprocess.run(command, env=env, capture_output=True, check=False)
                    outcomes.append(done.returncode)

            pool = [threading.Thread(target=worker) for _ in range(processes)]
            started = time.perf_counter()
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
            elapsed = time.perf_counter() - started
            failures = sum(1 for code in outcomes if code != 0)
            refused = sum(1 for r in fake.token_requests if r.status == 429)
            rows.append(
                (
                    label,
                    processes * runs,
                    fake.token_request_count,
                    refused,
                    failures,
                    f"{elapsed:.1f}",
                )
            )
            report.target(
                f"processes: {processes} x {runs} runs of {label} -> 1 token request",
                f"{fake.token_request_count} ({failures} failed runs)",
                fake.token_request_count == 1 and failures == 0,
            )
    report.tables.append(
        table(
            f"3. Processes: {processes} at once, {runs} runs each, one token lifetime",
            ("command", "runs", "token requests", "refused (429)", "failed runs", "seconds"),
            rows,
        )
    )


def console_script() -> str:
    found = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
    return found or "officernd-auth"


# -- 4. start-up -----------------------------------------------------------------------------


FLEET_WORKER = textwrap.dedent(
    """
    import sys
    from officernd_auth.provider import TokenProvider
    from officernd_auth.errors import OfficeRNDAuthError

    client_id, secret, token_url, cache = sys.argv[1:5]
    provider = TokenProvider(client_id, secret, ("flex.community.members.read",),
                             token_url=token_url, token_cache=cache or None, max_token_retries=0)
    try:
        provider.get_token()
    except OfficeRNDAuthError as exc:
        print(type(exc).__name__)
        sys.exit(1)
    print("ok")
    """
)


def measure_fleet(report: Report, workers: int) -> None:
    redis_server = shutil.which("redis-server")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        server = None
        variants: list[tuple[str, Callable[[int], str]]] = [
            ("no shared cache", lambda i: ""),
            (
                "file cache, one directory per worker (separate hosts)",
                lambda i: os.path.join(scratch, f"host{i}"),
            ),
        ]
        started = start_redis(scratch) if redis_server else None
        if started is not None:
            server, port = started
            variants.append(("Redis", lambda i: f"redis://127.0.0.1:{port}/0"))
        try:
            for label, cache_for in variants:
                with emulator() as fake:  # OfficeRND's real limit: 5 token requests a minute
                    app = fake.add_app([peers.SCOPE])
                    procs = [
                        subprocess.Popen(
                            [
                                sys.executable,
                                "-c",
                                FLEET_WORKER,
                                app.client_id,
                                app.client_secret,
                                fake.token_url,
                                cache_for(i),
                            ],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL,
                            text=True,
                        )
                        for i in range(workers)
                    ]
                    failed = sum(1 for p in procs if p.wait(timeout=120) != 0)
                    for proc in procs:
                        assert proc.stdout is not None
                        proc.stdout.close()
                    refused = sum(1 for r in fake.token_requests if r.status == 429)
                    rows.append((label, fake.token_request_count, refused, failed))
                    if label == "Redis":
                        report.target(
                            f"fleet: {workers} workers at once with Redis -> 1 token request, "
                            "0 refusals",
                            f"{fake.token_request_count} request(s), {refused} refused",
                            fake.token_request_count == 1 and refused == 0 and failed == 0,
                        )
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
    if not redis_server:
        report.target("fleet with Redis", "skipped: redis-server is not installed", False)
    report.tables.append(
        table(
            f"7. A fleet: {workers} worker processes starting at once (OfficeRND's rate limit on)",
            (
                "token cache",
                "token requests",
                "refused by the server (429)",
                "workers without a token",
            ),
            rows,
        )
    )
