"""Helpers for the tests in which several Python processes share one token cache."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from officernd_auth.testing import FakeOfficeRND


def read_line(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """One line of a child's stdout, read from its descriptor a byte at a time, so that what
    follows stays in the pipe: ``communicate()`` reads the descriptor, not the buffer a
    ``stdout.readline()`` fills, and would miss whatever that buffer took with the line."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no line from the child in {timeout} s (so far {line!r})")
        byte = os.read(descriptor, 1)
        if not byte:
            break  # the child closed its stdout
        line += byte
    return line.decode().strip()


def start_lock_holder(script: str, *args: str) -> subprocess.Popen[str]:
    """Start a process that takes the cache lock and keeps it; return once it holds it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    assert read_line(holder) == "locked"
    return holder


def kill(holder: subprocess.Popen[str]) -> None:
    """SIGKILL: the holder gets no chance to release anything."""
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    if holder.stdout is not None:
        holder.stdout.close()


def start_workers(count: int, script: str, *args: str) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def results_of(workers: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Each worker's JSON report; fails on a worker that failed."""
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    return results


def assert_one_token_request_per_renewal(
    fake: FakeOfficeRND,
    results: list[dict[str, Any]],
    lifetime: float,
    duration: float,
    at_least: int = 3,
) -> list[float]:
    """Single flight held across processes: never two token requests in one renewal period
    (half the lifetime, the clamped leeway), at least ``at_least`` renewal periods covered, and
    every request made by a worker and used. Returns the times of the token requests."""
    issued = [record.time for record in fake.token_requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(issued)]
    assert all(gap > lifetime / 2 - 0.5 for gap in gaps), gaps
    assert at_least <= len(issued) <= int(duration / (lifetime / 2)) + 1, issued
    assert sum(r["requests"] for r in results) == len(issued)
    assert len(set().union(*(set(r["tokens"]) for r in results))) == len(issued)
    return issued
