"""The process side of tests/test_lifetimes.py: makes, uses and drops front ends, then reports
what the process still keeps. Run as ``python lifetimes_child.py`` with its settings as JSON on
stdin; prints JSON.

It runs apart from the emulator (which stays in the test's process), so that tracemalloc counts
only what the library keeps, and it uses the real clock: tokens that expire and budget windows
that pass are real ones (the emulator issues tokens that live a few seconds).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable
from typing import Any

import httpx
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.cache.resolve import caches_from_settings
from officernd_auth.core import policy
from officernd_auth.core.flight import registry_sizes
from officernd_auth.httpx import AsyncOfficeRNDClient, OfficeRNDClient
from officernd_auth.httpx import OfficeRNDAuth as HttpxAuth

SCOPE = "flex.community.members.read"
MEMBERS = "/api/v2/organizations/acme/members?$limit=1"
#: Objects of each kind made before measuring: every code path has run, every cache warmed.
WARM = 8


def descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> None:
    given: dict[str, Any] = json.loads(sys.stdin.read())
    token_url, api_url, host = given["token_url"], given["api_url"], given["host"]
    credentials: list[list[str]] = given["credentials"]
    kinds: list[str] = given["kinds"]
    plan: list[str] = given["plan"]  # the kind of each measured object, in order
    cache: str | None = given["cache"]
    # Busy budgets are let go at the first budget lookup this long after the last sweep (a
    # minute by default); the windows here last a second.
    policy.PRUNE_EVERY = 1.0
    options: dict[str, Any] = {"scope": SCOPE, "token_url": token_url, "budget_window": 1.0}
    if cache is not None:
        options["token_cache"] = cache
    http = requests.Session()
    http.trust_env = False
    loop = asyncio.new_event_loop()

    def use(kind: str, client_id: str, secret: str, close: bool) -> object:
        """Make one front end, make two calls with it, close it or not; return it."""
        made: Any
        if kind == "session":
            made = OfficeRNDSession(client_id, secret, org="acme", api_url=api_url, **options)
            made.trust_env = False
            for _ in range(2):
                made.get("members", params={"$limit": 1}).raise_for_status()
        elif kind == "auth":
            made = OfficeRNDAuth(client_id, secret, allowed_hosts=[host], **options)
            for _ in range(2):
                http.get(api_url + MEMBERS, auth=made, timeout=10).raise_for_status()
        elif kind == "httpx_auth":
            made = HttpxAuth(client_id, secret, allowed_hosts=[host], **options)
            with httpx.Client(trust_env=False) as client:
                for _ in range(2):
                    client.get(api_url + MEMBERS, auth=made).raise_for_status()
        elif kind == "client":
            made = OfficeRNDClient(client_id, secret, org="acme", api_url=api_url, **options)
            for _ in range(2):
                made.get("members", params={"$limit": 1}).raise_for_status()
        else:
            made = AsyncOfficeRNDClient(client_id, secret, org="acme", api_url=api_url, **options)

            async def calls() -> None:
                for _ in range(2):
                    (await made.get("members", params={"$limit": 1})).raise_for_status()
                if close:
                    await made.aclose()

            loop.run_until_complete(calls())
            return made
        if close:
            made.close()
        return made

    warm, rest = credentials[: len(kinds) * WARM], credentials[len(kinds) * WARM :]
    for index, (client_id, secret) in enumerate(warm):  # code paths, registries, pools
        use(kinds[index % len(kinds)], client_id, secret, bool(index % 2))

    def time_passes() -> None:
        """Every token expires, every budget window passes; the service goes on: one more
        token request (a warm-up credential's token has expired too) stores and looks up as
        usual."""
        time.sleep(given["expires_in"] + 1.2)  # and the one-second budget window
        use(kinds[0], *warm[0], True)
        gc.collect()

    # A session that lives throughout, as a service's long-lived one would: it keeps a cache
    # made from the setting alive, so what that shared object keeps per credential is counted.
    holder = use("session", *warm[1], False)
    time_passes()  # once before measuring too: what that path imports or caches once
    start_descriptors, start_threads = descriptors(), threading.active_count()
    alive: dict[str, list[weakref.ref[object]]] = {kind: [] for kind in kinds}
    peak = start_descriptors

    def round_of(kinds_and_credentials: list[tuple[str, list[str]]]) -> None:
        nonlocal peak
        for index, (kind, (client_id, secret)) in enumerate(kinds_and_credentials):
            close = bool(index // len(kinds) % 2)  # about half of each kind closed
            alive[kind].append(weakref.ref(use(kind, client_id, secret, close)))
            peak = max(peak, descriptors())
            if index % 50 == 49:
                # As often in every round, so that what is alive at the peak (dropped sessions
                # wait for the cycle collector) does not differ from one round to the next.
                gc.collect()
        time_passes()

    # Three rounds; what the last leaves is the steady state. The first ones also fill bounded
    # tables of other libraries once (re's pattern cache, the import system's, ~50 KB) and
    # grow the interpreter's table of interned strings (pathlib interns every file name
    # filelock gives it) to the number of names alive at once.
    planned = list(zip(plan, rest, strict=True))
    third = len(planned) // 3
    # The interpreter's table of interned strings (pathlib interns every file name filelock
    # gives it) is one block, reallocated when its free slots run out, at a size set by the
    # names alive then: the measured round must not be the one to grow it (a step of megabytes,
    # not memory per object). Names kept alive here set that size well above what the rounds
    # add, and names interned and dropped at once make it reallocate now, with its free slots
    # far more than the rounds use.
    ballast = [sys.intern(f"lifetimes-ballast-{i}") for i in range(40_000)]
    for i in range(200_000):
        sys.intern(f"lifetimes-churn-{i}")
    # Traced from the interpreter's start (PYTHONTRACEMALLOC, set by the test): a table that
    # existed before tracing and grows meanwhile would count whole, its old block not freed.
    if not tracemalloc.is_tracing():
        tracemalloc.start(30 if os.environ.get("LIFETIMES_DEBUG") else 1)
    start = tracemalloc.take_snapshot()
    round_of(planned[:third])
    round_of(planned[third : 2 * third])
    middle = tracemalloc.take_snapshot()
    round_of(planned[2 * third :])
    end = tracemalloc.take_snapshot()
    tracemalloc.stop()
    left = {kind: sum(ref() is not None for ref in refs) for kind, refs in alive.items()}
    # Not the library's: what this script keeps (its weak references to the objects), and
    # setuptools' import hook, which httpcore runs on every async request by trying to import
    # sniffio (not installed here) again; a program without setuptools has neither.
    mine = (tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, "*/_distutils_hack/*"))
    start, middle, end = (snapshot.filter_traces(mine) for snapshot in (start, middle, end))
    first = sum(d.size_diff for d in middle.compare_to(start, "filename"))
    retained = sum(d.size_diff for d in end.compare_to(middle, "filename"))
    sites = sorted(end.compare_to(middle, "lineno"), key=lambda d: -d.size_diff)[:8]
    if os.environ.get("LIFETIMES_DEBUG"):
        for d in sorted(end.compare_to(middle, "traceback"), key=lambda d: -abs(d.size_diff))[:4]:
            print(d.size_diff, "\n".join(d.traceback.format()[-24:]), file=sys.stderr)
    loop.close()
    http.close()
    del holder, ballast
    gc.collect()
    report: Callable[[Any], str] = json.dumps
    print(
        report(
            {
                "alive": left,
                "made": len(planned) - 2 * third,
                "retained": retained,
                "first_rounds": [2 * third, first],
                "sites": [f"{d.traceback[0]}: {d.size_diff}" for d in sites],
                "descriptors": [start_descriptors, peak, descriptors()],
                "threads": [start_threads, threading.active_count()],
                "registries": {**registry_sizes(), "caches": caches_from_settings()},
            }
        )
    )


if __name__ == "__main__":
    main()
