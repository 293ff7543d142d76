"""8 processes share FileTokenCache while tokens renew; a lock holder is killed.

Both sizes prove the property: one token request per renewal period across 8 processes, after a
lock holder dies holding the lock, with every cache file whole and private whenever read. The
short run (one lifetime after the holder died, a renewal at least, ~7 s) is in the default
suite; the long run (three lifetimes) is ``-m slow``."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from multiprocess import (
    assert_one_token_request_per_renewal,
    kill,
    read_line,
    results_of,
    start_lock_holder,
    start_workers,
)

from officernd_auth.cache import cache_key
from officernd_auth.testing import FakeOfficeRND

LIFETIME = 4  # seconds; the default leeway is clamped to half of it
SCOPE = "flex.community.members.read"

WORKER = textwrap.dedent(
    """
    import json, os, stat, sys, time
    from officernd_auth.provider import TokenProvider
    from officernd_auth.cache import FileTokenCache

    client_id, secret, token_url, directory, seconds = sys.argv[1:6]
    cache = FileTokenCache(directory)
    provider = TokenProvider(client_id, secret, ("flex.community.members.read",),
                             token_url=token_url, token_cache=cache, token_budget=None)
    seen, problems = set(), []
    print("asking", flush=True)
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        seen.add(provider.get_token().access_token)
        for entry in os.scandir(directory):
            if entry.name.endswith(".json"):
                try:
                    with open(entry.path) as handle:
                        json.load(handle)
                    mode = stat.S_IMODE(os.stat(entry.path).st_mode)
                    if mode != 0o600:
                        problems.append(f"mode {mode:o}")
                except FileNotFoundError:
                    pass
                except ValueError as exc:
                    problems.append(f"unreadable: {exc}")
        time.sleep(0.02)
    print(json.dumps({"tokens": sorted(seen), "problems": problems,
                      "requests": provider.token_requests}))
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from officernd_auth.cache import FileTokenCache

    directory, key = sys.argv[1:3]
    with FileTokenCache(directory).lock(key):
        print("locked", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.parametrize(
    "lifetimes", [1, pytest.param(3, marks=pytest.mark.slow)], ids=["short", "long"]
)
def test_processes_share_tokens_across_lifetimes(tmp_path: Path, lifetimes: int) -> None:
    directory = tmp_path / "cache"
    with FakeOfficeRND(expires_in=LIFETIME, rate_limit=None) as fake:
        app = fake.add_app([SCOPE])
        key = cache_key(fake.token_url, app.client_id, app.client_secret, (SCOPE,))
        holder = start_lock_holder(HOLDER, str(directory), key)
        # the workers wait on the holder, then cover three renewal periods or more
        duration = lifetimes * LIFETIME + 2.5
        workers = start_workers(
            8,
            WORKER,
            app.client_id,
            app.client_secret,
            fake.token_url,
            str(directory),
            str(duration),
        )
        for worker in workers:  # each has started and asks for its first token now
            assert read_line(worker) == "asking"
        time.sleep(0.5)  # the property is a time: for as long as the holder keeps the lock,
        assert fake.token_request_count == 0  # no worker sends a token request
        kill(holder)  # dies holding the lock: the OS must free it
        results = results_of(workers)
        assert [r["problems"] for r in results] == [[]] * 8
        # short: a first token and a renewal at least, even where the workers start late
        at_least = 2 if lifetimes == 1 else 3
        assert_one_token_request_per_renewal(fake, results, LIFETIME, duration, at_least)


def test_a_line_read_from_a_worker_leaves_the_rest_for_communicate() -> None:
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", "print('asking'); print('{\"done\": true}')"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    child.wait(timeout=30)  # both lines are in the pipe before the first is read
    assert read_line(child) == "asking"
    out, _ = child.communicate(timeout=30)
    assert out.strip() == '{"done": true}'  # a buffered readline would have taken it
