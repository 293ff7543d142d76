"""The httpx front ends beside the peers for httpx: instructions per request with a cached token
against a trivial ``httpx.Auth`` (table 1d), and the thundering herd, threads and tasks (table 2b).

A getter here is called like the requests rows' (``get(url)``, one request). An async getter runs
its request on one event loop kept for the getter; it also has ``batch(url, n)``, which makes n
requests one after the other inside one ``run_until_complete``, so that the instruction counts
(``calls`` requests minus none, see :mod:`benchmarks.instructions`) leave the loop's own start
and stop out, as they leave out the threads' making.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from officernd_auth.testing import Fault

from . import peers
from .common import Report, table

FLOOR_SYNC = "floor (trivial httpx.Auth)"
FLOOR_ASYNC = "floor (trivial httpx.Auth, async)"
OURS_SYNC = ("officernd-auth (httpx auth)", "officernd-auth (OfficeRNDClient)")
OURS_ASYNC = ("officernd-auth (httpx auth, async)", "officernd-auth (AsyncOfficeRNDClient)")
PEERS_SYNC = ("Authlib (httpx OAuth2Client)", "httpx-auth (OAuth2ClientCredentials)")
PEERS_ASYNC = ("Authlib (httpx AsyncOAuth2Client)", "httpx-auth (OAuth2ClientCredentials, async)")
SYNC_ROWS = (FLOOR_SYNC, *OURS_SYNC, *PEERS_SYNC)
ASYNC_ROWS = (FLOOR_ASYNC, *OURS_ASYNC, *PEERS_ASYNC)
#: Per-request overhead limit of our httpx rows against their floor (issue #27).
LIMIT = 1.03


class ConstantHttpxAuth(httpx.Auth):
    """The least an httpx auth can do: set a constant header. The floor."""

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = "Bearer " + "0" * 40
        yield request


_TOKEN = {"access_token": "0" * 40, "token_type": "Bearer", "expires_in": 3600,
          "scope": peers.SCOPE}  # fmt: skip


def _canned(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/oauth/token"):
        return httpx.Response(200, json=_TOKEN)  # the rows that send it through their client
    return httpx.Response(200, json={"results": []})


def canned_transport() -> httpx.MockTransport:
    """Answers every request at once: a small JSON body, or a token for a token request (the
    network is taken out; the token is then cached, as it is with the emulator)."""
    return httpx.MockTransport(_canned)


class AsyncGetter:
    """``get(url)`` for an async client: one event loop, kept; ``batch`` runs n requests in
    one ``run_until_complete``."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(_made(make))

    def __call__(self, url: str) -> Any:
        return self.loop.run_until_complete(self.client.get(url))

    def batch(self, url: str, n: int) -> None:
        async def many() -> None:
            for _ in range(n):
                await self.client.get(url)

        self.loop.run_until_complete(many())


async def _made(make: Callable[[], Any]) -> Any:
    made = make()  # on the loop that will use it
    return await made if asyncio.iscoroutine(made) else made


def getter(name: str, c: peers.Credentials) -> Callable[[str], Any]:
    """The getter of an httpx row, answering every call with the canned transport (table 1d)."""
    return _getter(name, c, {"transport": canned_transport(), "trust_env": False}, None)


def _getter(
    name: str, c: peers.Credentials, settings: dict[str, Any], api_url: str | None
) -> Callable[[str], Any]:
    """``name``'s getter, its clients made with ``settings`` (httpx keywords); with ``api_url``,
    our rows send the token to that origin (the emulator's API, table 2b)."""
    from officernd_auth.cache import MemoryTokenCache

    asynchronous = name in ASYNC_ROWS
    client_class: Any = httpx.AsyncClient if asynchronous else httpx.Client
    ours: dict[str, Any] = {
        "token_url": c.token_url,
        "token_cache": MemoryTokenCache(),
        "token_budget": None,
    }
    if api_url is not None:
        ours["api_url"] = api_url
    auth: Any = None
    if name in (FLOOR_SYNC, FLOOR_ASYNC):
        auth = ConstantHttpxAuth()
    elif name in (OURS_SYNC[0], OURS_ASYNC[0]):
        from officernd_auth.httpx import OfficeRNDAuth

        auth = OfficeRNDAuth(c.client_id, c.client_secret, peers.SCOPE, **ours)
        if "transport" in settings:  # its token request over the same canned transport
            from officernd_auth.httpx_transport import HttpxTransport

            auth.provider.use_transport(HttpxTransport(settings))
    elif name in (PEERS_SYNC[1], PEERS_ASYNC[1]):
        import httpx_auth

        auth = httpx_auth.OAuth2ClientCredentials(
            c.token_url, client_id=c.client_id, client_secret=c.client_secret, scope=peers.SCOPE
        )

    def make() -> Any:
        if auth is not None:
            return client_class(auth=auth, **settings)
        if name in (OURS_SYNC[1], OURS_ASYNC[1]):
            from officernd_auth.httpx import AsyncOfficeRNDClient, OfficeRNDClient

            cls: Any = AsyncOfficeRNDClient if asynchronous else OfficeRNDClient
            # Its token request goes over its own settings (the canned transport answers it).
            return cls(c.client_id, c.client_secret, peers.SCOPE, org="acme", **ours, **settings)
        return _authlib(c, asynchronous, settings)

    if asynchronous:
        return AsyncGetter(make)
    get: Callable[[str], Any] = make().get
    return get


def _authlib(c: peers.Credentials, asynchronous: bool, settings: dict[str, Any]) -> Any:
    """Authlib's httpx client with a first token fetched by hand, as its documentation says
    (it re-fetches on expiry; it has no lazy first fetch)."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

    options = {"scope": peers.SCOPE, "token_endpoint": c.token_url,
               "grant_type": "client_credentials",
               "token_endpoint_auth_method": "client_secret_post", **settings}  # fmt: skip
    if not asynchronous:
        client = OAuth2Client(c.client_id, c.client_secret, **options)
        client.fetch_token()
        return client

    async def fetched() -> Any:
        client = AsyncOAuth2Client(c.client_id, c.client_secret, **options)
        await client.fetch_token()
        return client

    return fetched()


# -- table 1d -----------------------------------------------------------------------------------


def measure_httpx_instructions(report: Report, calls: int, processes: int) -> None:
    """Table 1d: instructions per request of the httpx rows, each against its own floor."""
    import sys

    from . import instructions

    if not instructions.available():
        report.target("httpx overhead targets", "skipped: valgrind is not installed", False)
        return
    names = [*SYNC_ROWS, *ASYNC_ROWS]
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
            f"1d. httpx: instructions per request with a cached token on Python {python} "
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
            f"overhead of {name} <= {LIMIT:.2f}x the trivial httpx.Auth (instructions, "
            f"Python {python})",
            f"{ratio:.4f}x (floor spread {found[floor].spread:.2%})",
            ratio <= LIMIT,
        )


# -- table 2b -----------------------------------------------------------------------------------


def _threads(get: Callable[[str], Any], url: str, threads: int) -> int:
    """Failures of ``threads`` threads making one call each at once."""
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


#: Requests in flight at once in the async herd. With 1,000 requests queued at once on 64
#: connections, httpcore's pool spends seconds re-assigning them (quadratic in the queue: ~120 s
#: of CPU, measured with cProfile) and starves its own loop into connect and pool timeouts,
#: whatever the auth: a burst through a semaphore measures the token logic, not that.
IN_FLIGHT = 64


def _tasks(get: AsyncGetter, url: str, tasks: int) -> tuple[int, float]:
    """Failures of ``tasks`` tasks making one call each on the getter's loop (at most
    :data:`IN_FLIGHT` at once), and the longest the loop stalled meanwhile (a heartbeat's
    lateness, seconds)."""

    async def one(gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                return bool((await get.client.get(url)).status_code == 200)
            except Exception:
                return False

    async def all_of_them() -> tuple[int, float]:
        gate = asyncio.Semaphore(IN_FLIGHT)
        late = [0.0]
        done = asyncio.Event()

        async def heartbeat() -> None:
            while not done.is_set():
                started = time.monotonic()
                await asyncio.sleep(0.005)
                late.append(time.monotonic() - started - 0.005)

        beating = asyncio.create_task(heartbeat())
        answers = await asyncio.gather(*(one(gate) for _ in range(tasks)))
        done.set()
        await beating
        return answers.count(False), max(late)

    return get.loop.run_until_complete(all_of_them())


def measure_httpx_herd(report: Report, threads: int, tasks: int, lifetime: int) -> None:
    """Table 2b: token requests of a herd of threads (sync rows) and of tasks on one event loop
    (async rows), at a cold start and after expiry, the token endpoint answering in 200 ms."""
    from .getters import credentials, emulator

    runs = []
    for name in [*SYNC_ROWS[1:], *ASYNC_ROWS[1:]]:
        fake = emulator(rate_limit=None, expires_in=lifetime)
        fake.fail_next_token_requests(Fault.slow(0.2), count=10_000)
        get = _herd_getter(name, credentials(fake), fake.api_url)
        url = fake.api_url + "/api/v2/organizations/acme/members?$limit=1"
        first = _run(get, url, threads, tasks)
        # Counted from the start: Authlib's first token, fetched by hand, is its cold start.
        runs.append((name, fake, get, url, fake.token_request_count, first))
    time.sleep(lifetime + 1.5)  # every row's token has now expired
    rows = []
    for name, fake, get, url, cold, (cold_failures, cold_stall) in runs:
        before = fake.token_request_count
        again, stall = _run(get, url, threads, tasks)
        crowd = f"{tasks} tasks" if isinstance(get, AsyncGetter) else f"{threads} threads"
        stalled = f"{max(cold_stall, stall) * 1000:.0f}" if isinstance(get, AsyncGetter) else ""
        rows.append((name, crowd, cold, cold_failures, fake.token_request_count - before,
                     again, stalled))  # fmt: skip
        fake.stop()
    report.tables.append(
        table(
            f"2b. httpx thundering herd: {threads} threads (sync) or {tasks} tasks on one event "
            f"loop, {IN_FLIGHT} in flight at once (async), at a cold start, then again after "
            f"expiry (token endpoint answering in 200 ms, {lifetime} s tokens; the emulator's "
            "API over loopback; the longest the event loop stalled, by a 5 ms heartbeat)",
            (
                "library",
                "callers",
                "token requests (cold)",
                "failed",
                "token requests (after expiry)",
                "failed",
                "loop stall (ms)",
            ),
            rows,
        )
    )


def _run(get: Any, url: str, threads: int, tasks: int) -> tuple[int, float]:
    if isinstance(get, AsyncGetter):
        return _tasks(get, url, tasks)
    return _threads(get, url, threads), 0.0


def _herd_getter(name: str, c: peers.Credentials, api_url: str) -> Any:
    """``name``'s getter against the emulator's API (not the canned transport)."""
    settings = {"limits": httpx.Limits(max_connections=64), "trust_env": False}
    return _getter(name, c, settings, api_url)
