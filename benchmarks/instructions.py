"""Instructions per request, counted by valgrind's callgrind: the noise-free companion of the
timed tables.

Time on a shared machine strays by several percent between identical runs (the A/A control of
the scale table shows it), which is wider than the 2-3 % overhead targets. Instruction counts do
not depend on what else the machine does, so the overhead and scale targets are judged on them;
the timed tables stay beside them.

``python -m benchmarks.instructions NAME CALLS THREADS ROUNDS NATIVE`` makes one getter, warms it
up (first token, caches) and then, ROUNDS times, makes no request and then CALLS requests (in
this thread, or shared out among THREADS threads started together). Before each of these steps
it calls ``os.getppid()``, which nothing else in the process calls: the parent runs the child
under callgrind with ``--dump-before=getppid``, so each step's instructions land in a file of
their own. A round's cost per request is (CALLS requests - no request) / CALLS, which leaves out
the start-up, the warm-up and the making of the threads; the median of the rounds is reported
with their range (about 0.1 %; more with hundreds of threads making a few requests each, whose
thread switches fall differently from round to round). NATIVE is the warm-up's seconds per
request without callgrind, measured once per getter by the parent (ROUNDS and NATIVE 0): see
:func:`child` for why the child needs it.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .common import median

WARM_UP = 200
ROUNDS = 5


#: Processes per row, each with its own hash seed: string hashes decide dict layouts and so
#: instruction counts, by up to ~0.4 % between processes of the same code.
PROCESSES = 3


@dataclass(frozen=True)
class Count:
    """Instructions per request of one getter: the median of its rounds, and their range."""

    rounds: tuple[float, ...]

    @property
    def median(self) -> float:
        return median(list(self.rounds))

    @property
    def stray(self) -> float:
        """The rounds' range as a fraction of their median."""
        return (max(self.rounds) - min(self.rounds)) / self.median


def child(name: str, calls: int, threads: int, rounds: int, native: float) -> None:
    """Run the steps under callgrind (see the module's docstring); with ``native`` 0, time the
    second half of the warm-up without callgrind and print the seconds per request instead.

    The interpreter makes a thread that waits for the GIL ask for it after a switch interval
    (5 ms) of wall time. Callgrind runs this code some 80 times slower than a real process, so
    with that interval the threads would switch 80 times as often per request as they really
    do, and the count would carry that much more switching. The child stretches the interval by
    the slowdown it measures: its own warm-up's seconds per request against ``native``, the
    same warm-up's without callgrind."""
    import threading
    import time

    from .common import API as CANNED
    from .getters import REDIS_CACHE, SOCKET, emulator, getter_for, socket_url, start_redis

    API = socket_url() if name.endswith(SOCKET) else CANNED

    def run(get: Callable[[str], object], n: int) -> None:
        batch = getattr(get, "batch", None)  # an async getter: n requests on its event loop
        if batch is not None and not threads:
            batch(API, n)
            return
        if not threads:
            for _ in range(n):
                get(API)
            return
        barrier = threading.Barrier(threads)

        def worker() -> None:
            barrier.wait()
            for _ in range(n // threads):
                get(API)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    with emulator(rate_limit=None) as fake, tempfile.TemporaryDirectory() as scratch:
        redis = start_redis(scratch) if name == REDIS_CACHE else None
        try:
            get = getter_for(name, fake, scratch, None if redis is None else redis[1])
            for _ in range(WARM_UP // 2):
                get(API)
            started = time.perf_counter()
            for _ in range(WARM_UP - WARM_UP // 2):
                get(API)
            seconds = (time.perf_counter() - started) / (WARM_UP - WARM_UP // 2)
            if not native:
                print(seconds)
                return
            sys.setswitchinterval(sys.getswitchinterval() * max(1.0, seconds / native))
            for _ in range(rounds):
                os.getppid()  # the dumps' marker: see the module's docstring
                run(get, 0)  # the threads' making and joining, without requests
                os.getppid()
                run(get, calls)
            os.getppid()
        finally:
            if redis is not None:
                redis[0].terminate()
                redis[0].wait(timeout=10)


@dataclass(frozen=True)
class Row:
    """One row's counts in several processes, each with another hash seed."""

    processes: tuple[Count, ...]

    @property
    def median(self) -> float:
        """The median of the processes' medians."""
        return median([count.median for count in self.processes])

    @property
    def spread(self) -> float:
        """How far the processes' medians spread, as a fraction of their median."""
        medians = [count.median for count in self.processes]
        return (max(medians) - min(medians)) / self.median

    @property
    def stray(self) -> float:
        """The widest spread of rounds within one process."""
        return max(count.stray for count in self.processes)


def count(name: str, calls: int, threads: int = 0, rounds: int = ROUNDS, seed: int = 0) -> Count:
    """Instructions per request of one child process (see the module's docstring), started
    with ``PYTHONHASHSEED=seed``."""
    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    command = [sys.executable, "-m", "benchmarks.instructions", name, str(calls), str(threads)]
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--dump-before=getppid",
             f"--callgrind-out-file={out}/cg", *command, str(rounds), native_seconds(name)],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)},
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"callgrind run of {name!r} failed: {done.stderr[-800:]}")
        # cg.1 runs up to the first marker (start-up, warm-up); then a pair per round.
        steps = [_total(Path(out, f"cg.{i}")) for i in range(2, 2 + 2 * rounds)]
        if Path(out, f"cg.{2 + 2 * rounds}").exists():
            raise RuntimeError(f"{name!r}: something else called getppid(); the steps are unknown")
    return Count(tuple((steps[i + 1] - steps[i]) / calls for i in range(0, len(steps), 2)))


@functools.cache
def native_seconds(name: str) -> str:
    """The warm-up's seconds per request of NAME without callgrind (one run per getter: it does
    not depend on the thread count)."""
    command = [sys.executable, "-m", "benchmarks.instructions", name, "0", "0", "0", "0"]
    native = subprocess.run(command, capture_output=True, text=True)
    if native.returncode:
        raise RuntimeError(f"native run of {name!r} failed: {native.stderr[-800:]}")
    return native.stdout.strip()


def _total(path: Path) -> int:
    found = re.search(r"^totals: (\d+)", path.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"callgrind wrote no totals to {path.name}")
    return int(found[1])


def per_request(
    names: Sequence[str],
    calls: int,
    threads: int = 0,
    rounds: int = ROUNDS,
    processes: int = PROCESSES,
) -> dict[str, Row]:
    """Instructions per request for each getter, in ``processes`` processes each, hash seeds
    1, 2, ... (two processes at a time: counts do not depend on load). With ``threads``, the
    requests are made by that many threads at once."""
    calls -= calls % threads if threads else 0
    jobs = [(name, seed) for seed in range(1, processes + 1) for name in names]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda job: count(job[0], calls, threads, rounds, job[1]), jobs))
    return {
        name: Row(tuple(c for (n, _), c in zip(jobs, counts, strict=True) if n == name))
        for name in names
    }


#: Set by ``--quick``: count only the floors and our own rows under callgrind (each row is a
#: process that takes ~15 s under callgrind whatever its size; the smoke run checks that the
#: tables are made, and every peer's getter still runs natively in table 1 and for the
#: warm-up's native seconds).
SMOKE = False


def rows_to_count(names: Sequence[str]) -> list[str]:
    """``names``, or with :data:`SMOKE` only the floors and officernd-auth's rows."""
    if not SMOKE:
        return list(names)
    return [name for name in names if name.startswith(("floor", "officernd-auth"))]


def available() -> bool:
    return shutil.which("valgrind") is not None


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
