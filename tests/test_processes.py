"""8 processes share FileTokenCache across 3 token lifetimes; a lock holder is killed."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_processes_share_tokens_across_lifetimes(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    with FakeOfficeRND(expires_in=LIFETIME, rate_limit=None) as fake:
        app = fake.add_app([SCOPE])
        key = cache_key(fake.token_url, app.client_id, app.client_secret, (SCOPE,))
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(directory), key],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        duration = 3 * LIFETIME + 1.0
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    app.client_id,
                    app.client_secret,
                    fake.token_url,
                    str(directory),
                    str(duration),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        time.sleep(1.5)  # every worker is now waiting on the lock the holder keeps
        assert fake.token_request_count == 0
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: the OS must free it
        holder.wait(timeout=10)
        holder.stdout.close()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            results.append(json.loads(out))
        assert [r["problems"] for r in results] == [[]] * 8
        issued = [r.time for r in fake.token_requests]
        # One token request per renewal period, never two in one: single flight held.
        gaps = [later - earlier for earlier, later in itertools.pairwise(issued)]
        assert all(gap > LIFETIME / 2 - 0.5 for gap in gaps), gaps
        assert len(issued) <= int(duration / (LIFETIME / 2)) + 1
        assert len(issued) >= 3  # it really ran across three lifetimes
        assert sum(r["requests"] for r in results) == len(issued)
        used = set().union(*(set(r["tokens"]) for r in results))
        assert len(used) == len(issued)
