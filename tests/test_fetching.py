"""The fetch loop run by a task on its event loop (``officernd_auth.core.fetching``): the exchange
on the loop with no worker thread, a program that uses only httpx never importing requests, a
cancelled caller that stops waiting at once while the fetch finishes, retries paced on the loop,
and caches whose locks block taken in a thread with the exchange still sent on the loop."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from http_library import NAME, AsyncOfficeRNDClient, httpx

from officernd_auth.cache import MemoryTokenCache
from officernd_auth.testing import App, FakeOfficeRND, Fault

SCOPE = "flex.community.members.read"


@pytest.fixture
def live_app(live: FakeOfficeRND) -> App:
    return live.add_app([SCOPE])


def _client(live: FakeOfficeRND, app: App, **options: object) -> AsyncOfficeRNDClient:
    options.setdefault("token_cache", MemoryTokenCache())
    return AsyncOfficeRNDClient(
        app.client_id, app.client_secret, SCOPE, org="acme",
        token_url=live.token_url, api_url=live.api_url, **options,  # type: ignore[arg-type]
    )  # fmt: skip


_HTTPX_ONLY = """
import asyncio, importlib, json, os, sys, threading
AsyncOfficeRNDClient = importlib.import_module(sys.argv[1]).AsyncOfficeRNDClient

settings = json.loads(sys.stdin.read())

async def main():
    async with AsyncOfficeRNDClient(**settings, org="acme") as client:
        statuses = [(await client.get("members")).status_code for _ in range(10)]
    return statuses

before = threading.active_count()
statuses = asyncio.run(main())
print(json.dumps({
    "statuses": statuses,
    "imported": sorted(m for m in sys.argv[2:] if m in sys.modules),
    "threads": threading.active_count() - before,
}))
"""


def test_a_program_using_only_httpx_never_imports_requests(
    live: FakeOfficeRND, live_app: App
) -> None:
    settings = {
        "client_id": live_app.client_id, "client_secret": live_app.client_secret,
        "scope": SCOPE, "token_url": live.token_url, "api_url": live.api_url,
    }  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    other = {"httpx": "httpx2", "httpx2": "httpx"}[NAME]
    absent = ["requests", "urllib3", "requests_oauthlib", other]
    done = subprocess.run(
        [sys.executable, "-c", _HTTPX_ONLY, f"officernd_auth.{NAME}", *absent],
        input=json.dumps(settings), env=environ,
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    seen = json.loads(done.stdout)
    assert seen == {"statuses": [200] * 10, "imported": [], "threads": 0}
    assert live.token_request_count == 1


def test_a_thousand_tasks_on_a_cold_token_start_no_thread(
    live: FakeOfficeRND, live_app: App
) -> None:
    live.fail_next_token_requests(Fault.slow(0.5))
    started: list[str] = []
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is threading.main_thread():  # not the emulator's own
            started.append(thread.name)
        original(thread)

    async def main() -> set[int]:
        async with _client(live, live_app) as client:
            token = client.provider.aget_token
            from officernd_auth.httpx_adapter.auth import ANYIO_LOOP

            tokens = await asyncio.gather(*(token(ANYIO_LOOP) for _ in range(1000)))
            assert len({t.access_token for t in tokens}) == 1
            return {(await client.get("members")).status_code}

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        assert asyncio.run(main()) == {200}
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert live.token_request_count == 1
    assert started == []


def test_a_cancelled_caller_stops_waiting_at_once_and_the_fetch_finishes(
    live: FakeOfficeRND, live_app: App
) -> None:
    live.fail_next_token_requests(Fault.slow(1.0))

    async def main() -> tuple[float, int]:
        async with _client(live, live_app) as client:
            first = asyncio.create_task(client.get("members"))
            await asyncio.sleep(0.3)  # inside the slow token request
            first.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await first
            waited = time.monotonic() - cancelled_at
            return waited, (await client.get("members")).status_code

    waited, status = asyncio.run(main())
    assert waited < 0.5  # the fetch goes on in a task of its own; the caller is free
    assert status == 200
    assert live.token_request_count == 1  # the next caller took the cancelled caller's token


def test_a_retry_is_paced_on_the_loop(live: FakeOfficeRND, live_app: App) -> None:
    live.fail_next_token_requests(Fault.server_error(503))
    beats: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            beats.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main() -> int:
        stop = asyncio.Event()
        beating = asyncio.create_task(heartbeat(stop))
        async with _client(live, live_app, backoff=0.3) as client:
            status = (await client.get("members")).status_code
        stop.set()
        await beating
        return status

    assert asyncio.run(main()) == 200
    assert live.token_request_count == 2
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    assert max(gaps) < 0.2  # the 0.3 s back-off never held the loop


def test_a_file_cache_is_locked_in_a_thread_and_the_exchange_sent_on_the_loop(
    live: FakeOfficeRND, live_app: App, tmp_path: Path
) -> None:
    """A file cache's lock blocks, so the call runs in a worker thread; the token request still
    goes over the async client's own transport, on the loop (an async transport cannot be used
    from a thread)."""
    seen: list[str] = []
    loops: list[bool] = []
    real = httpx.AsyncHTTPTransport()

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            loops.append(threading.current_thread() is threading.main_thread())
            return await real.handle_async_request(request)

        async def aclose(self) -> None:
            await real.aclose()

    async def main() -> int:
        async with _client(live, live_app, token_cache=str(tmp_path), transport=Recording()) as c:
            return (await c.get("members")).status_code

    assert asyncio.run(main()) == 200
    assert seen.count(live.token_url) == 1
    assert all(loops)  # every request, the token request included, on the loop's thread


def test_an_unreachable_endpoint_leaves_no_httpx_exception_in_the_chain() -> None:
    """httpx's exception holds the request, whose body holds the secret: neither the sync nor the
    async fetch lets it ride along as ``__cause__`` or ``__context__``."""
    import socket

    from http_library import OfficeRNDAuth

    from officernd_auth import TokenEndpointError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: connections are refused
    secret = "s3cr3t-unreachable"
    options = {"token_url": f"http://127.0.0.1:{port}/oauth/token", "max_token_retries": 0}
    auth = OfficeRNDAuth("id", secret, SCOPE, token_cache=MemoryTokenCache(), **options)

    def chain(error: BaseException) -> list[BaseException]:
        seen = [error]
        while (nxt := seen[-1].__cause__ or seen[-1].__context__) is not None:
            seen.append(nxt)
        return seen

    with pytest.raises(TokenEndpointError) as sync_failure:
        auth.provider.get_token()
    from officernd_auth.httpx_adapter.auth import ANYIO_LOOP

    auth2 = OfficeRNDAuth("id2", secret, SCOPE, token_cache=MemoryTokenCache(), **options)
    with pytest.raises(TokenEndpointError) as async_failure:
        asyncio.run(auth2.provider.aget_token(ANYIO_LOOP))
    for failure in (sync_failure.value, async_failure.value):
        assert "could not reach the token endpoint" in str(failure)
        assert [type(e).__name__ for e in chain(failure)] == ["TokenEndpointError"]
        assert secret not in repr(chain(failure))
