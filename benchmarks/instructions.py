"""Instructions per request, counted by valgrind's callgrind: the noise-free companion of the
timed overhead table.

Time on a shared machine strays by several percent between identical runs (the A/A control of
the scale table shows it), which is wider than the 2-3 % overhead targets. Instruction counts
vary by about 0.1 % between runs (the emulator's idle threads), whatever else the machine does,
so the overhead targets are judged on them; the timed table stays beside them.

``python -m benchmarks.instructions NAME CALLS`` makes one getter, warms it up (first token,
caches) and makes CALLS requests; the parent runs it under callgrind with CALLS = 0 and with
CALLS = N, and the difference divided by N is what one request costs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

WARM_UP = 200


def make_getter(name: str, scratch: str) -> tuple[Callable[[str], Any], Callable[[], None]]:
    """The getter called NAME, and how to clean up after it."""
    from . import peers
    from .common import CannedAdapter
    from .run import (
        FILE_CACHE,
        FLOOR,
        OURS,
        REDIS_CACHE,
        STATIC,
        credentials,
        emulator,
        floor_getter,
        start_redis,
        static_header_getter,
    )

    fake = emulator(rate_limit=None)
    cleanups = [fake.stop]
    if name == FLOOR:
        getter = floor_getter()
    elif name == STATIC:
        getter = static_header_getter()
    elif name == OURS[0]:
        getter = peers.officernd_session(credentials(fake), CannedAdapter())
    elif name == OURS[1]:
        getter = peers.officernd_auth(credentials(fake), CannedAdapter())
    elif name == FILE_CACHE:
        from officernd_auth.cache import FileTokenCache

        getter = peers.officernd_auth(
            credentials(fake), CannedAdapter(), token_cache=FileTokenCache(scratch)
        )
    elif name == REDIS_CACHE:
        from officernd_auth.cache import RedisTokenCache

        redis = start_redis(scratch)
        if redis is None:
            raise SystemExit("redis-server is not installed")
        cleanups.append(redis[0].terminate)
        redis_cache = RedisTokenCache(f"redis://127.0.0.1:{redis[1]}/0")
        getter = peers.officernd_auth(credentials(fake), CannedAdapter(), token_cache=redis_cache)
    else:
        raise SystemExit(f"no getter called {name!r}")

    def cleanup() -> None:
        for step in reversed(cleanups):
            step()

    return getter, cleanup


def child(name: str, calls: int, threads: int = 0) -> None:
    """Warm up, then make ``calls`` requests: in this thread, or shared out among ``threads``
    threads that start together (the threads are made even when ``calls`` is 0, so that the
    baseline pays for them too)."""
    import threading

    from .common import API

    with tempfile.TemporaryDirectory() as scratch:
        get, cleanup = make_getter(name, scratch)
        try:
            for _ in range(WARM_UP):
                get(API)
            if not threads:
                for _ in range(calls):
                    get(API)
                return
            barrier = threading.Barrier(threads)

            def worker() -> None:
                barrier.wait()
                for _ in range(calls // threads):
                    get(API)

            pool = [threading.Thread(target=worker) for _ in range(threads)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
        finally:
            cleanup()


def count(name: str, calls: int, threads: int = 0) -> int:
    """Instructions of one child process making ``calls`` requests after its warm-up."""
    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "benchmarks.instructions", name, str(calls), str(threads)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count for {name}: {done.stderr[-500:]}")
    return int(found[1])


def per_request(names: Sequence[str], calls: int, threads: int = 0) -> dict[str, float]:
    """Instructions per request for each getter (two processes at a time: counts do not
    depend on load). With ``threads``, the requests are made by that many threads at once."""
    calls -= calls % threads if threads else 0
    jobs = [(name, n) for name in names for n in (0, calls)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(
            zip(jobs, pool.map(lambda job: count(job[0], job[1], threads), jobs), strict=True)
        )
    return {name: (counts[name, calls] - counts[name, 0]) / calls for name in names}


def available() -> bool:
    return shutil.which("valgrind") is not None


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
