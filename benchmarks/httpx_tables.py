"""The httpx tables: instructions per request with a cached token against a trivial
``httpx.Auth`` (table 1d), and the thundering herd of threads and tasks (table 2b)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from officernd_auth.testing import Fault

from . import peers
from .common import Report, table
from .concurrency import herd
from .httpx_rows import (
    ASYNC_ROWS,
    FLOOR_ASYNC,
    FLOOR_SYNC,
    LIBRARY,
    LIMIT,
    OURS_ASYNC,
    OURS_SYNC,
    SYNC_ROWS,
    AsyncGetter,
    herd_getter,
)

# -- table 1d -----------------------------------------------------------------------------------


def measure_httpx_instructions(report: Report, calls: int, processes: int) -> None:
    """Table 1d: instructions per request of the httpx rows, each against its own floor."""
    import sys

    from . import instructions

    if not instructions.available():
        report.target("httpx overhead targets", "skipped: valgrind is not installed", False)
        return
    names = instructions.rows_to_count([*SYNC_ROWS, *ASYNC_ROWS])
    found = instructions.per_request(names, calls, processes=processes)
    python = ".".join(map(str, sys.version_info[:3]))
    rows = []
    for name in names:
        floor = FLOOR_ASYNC if name in ASYNC_ROWS else FLOOR_SYNC
        ratio = found[name].median / found[floor].median
        rows.append((name, f"{found[name].median:,.0f}", f"{found[name].spread:.2%}",
                     f"{found[name].stray:.2%}", f"{ratio:.4f}x"))  # fmt: skip
    report.tables.append(
        table(
            f"1d. {LIBRARY}: instructions per request with a cached token on Python {python} "
            f"(callgrind, a canned transport; each row the median of {processes} processes; "
            "async rows make their requests one after another on one event loop, against the "
            "async floor)",
            ("library", "instructions/request", "processes spread", "rounds spread", "vs floor"),
            rows,
        )
    )
    for name, floor in ((OURS_SYNC[0], FLOOR_SYNC), (OURS_SYNC[1], FLOOR_SYNC),
                        (OURS_ASYNC[0], FLOOR_ASYNC), (OURS_ASYNC[1], FLOOR_ASYNC)):  # fmt: skip
        ratio = found[name].median / found[floor].median
        report.target(
            f"overhead of {name} <= {LIMIT:.2f}x the trivial {LIBRARY}.Auth (instructions, "
            f"Python {python})",
            f"{ratio:.4f}x (floor spread {found[floor].spread:.2%})",
            ratio <= LIMIT,
        )


# -- table 2b -----------------------------------------------------------------------------------


#: Requests in flight at once in the async herd. With 1,000 requests queued at once on 64
#: connections, httpcore's pool spends seconds re-assigning them (quadratic in the queue: ~120 s
#: of CPU, measured with cProfile) and starves its own loop into connect and pool timeouts,
#: whatever the auth: a burst through a semaphore measures the token logic, not that.
IN_FLIGHT = 64


def _tasks(get: AsyncGetter, url: str, tasks: int) -> tuple[int, float]:
    """Failures of ``tasks`` tasks making one call each on the getter's loop, at most
    :data:`IN_FLIGHT` at once (and 0.0: see :func:`measure_httpx_herd` on loop stalls)."""

    async def one(gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                return bool((await get.client.get(url)).status_code == 200)
            except Exception:
                return False

    async def all_of_them() -> int:
        gate = asyncio.Semaphore(IN_FLIGHT)
        return list(await asyncio.gather(*(one(gate) for _ in range(tasks)))).count(False)

    return get.loop.run_until_complete(all_of_them()), 0.0


def measure_httpx_herd(report: Report, threads: int, tasks: int, lifetime: int) -> None:
    """Table 2b: token requests of a herd of threads (sync rows) and of tasks on one event loop
    (async rows), at a cold start and after expiry, the token endpoint answering in 200 ms.

    How long the event loop stalls is not published here: with the emulator in this process,
    its server threads take the GIL from the loop (a heartbeat is 20-70 ms late with a cached
    token and no token logic at all), which says more about the harness than the library. The
    test suite checks it where it is clean: a heartbeat within 50 ms during a 2 s token request
    (tests/test_httpx.py)."""
    runs = []
    for name in [*SYNC_ROWS[1:], *ASYNC_ROWS[1:]]:
        fake = peers.emulator(rate_limit=None, expires_in=lifetime)
        fake.fail_next_token_requests(Fault.slow(0.2), count=10_000)
        get = herd_getter(name, peers.credentials(fake), fake.api_url)
        url = fake.api_url + "/api/v2/organizations/acme/members?$limit=1"
        first = _run(get, url, threads, tasks)
        # Counted from the start: Authlib's first token, fetched by hand, is its cold start.
        runs.append((name, fake, get, url, fake.token_request_count, first))
    time.sleep(lifetime + 1.5)  # every row's token has now expired
    rows = []
    for name, fake, get, url, cold, (cold_failures, _) in runs:
        before = fake.token_request_count
        again, _ = _run(get, url, threads, tasks)
        crowd = f"{tasks} tasks" if isinstance(get, AsyncGetter) else f"{threads} threads"
        rows.append((name, crowd, cold, cold_failures, fake.token_request_count - before, again))
        fake.stop()
    report.tables.append(
        table(
            f"2b. httpx thundering herd: {threads} threads (sync) or {tasks} tasks on one event "
            f"loop, {IN_FLIGHT} in flight at once (async), at a cold start, then again after "
            f"expiry (token endpoint answering in 200 ms, {lifetime} s tokens; the emulator's "
            "API over loopback)",
            (
                "library",
                "callers",
                "token requests (cold)",
                "failed",
                "token requests (after expiry)",
                "failed",
            ),
            rows,
        )
    )


def _run(get: Any, url: str, threads: int, tasks: int) -> tuple[int, float]:
    if isinstance(get, AsyncGetter):
        return _tasks(get, url, tasks)
    return herd(get, url, threads), 0.0
