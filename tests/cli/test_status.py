"""``officernd-auth status``: 8 processes share a file or Redis cache and spend the budget
together; the command reports what they spent together, the token they stored, the store's
health, in JSON for scripts and in words for people, and never a token or a secret."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from multiprocess import results_of, start_workers

from officernd_auth.testing import App, FakeOfficeRND

SCRIPT = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
SCOPE = "flex.community.members.read"

WORKER = textwrap.dedent(
    """
    import json, sys
    from officernd_auth import TokenProvider
    from officernd_auth.errors import RateLimitedError

    client_id, secret, token_url, cache = sys.argv[1:5]
    provider = TokenProvider(client_id, secret, "flex.community.members.read",
                             token_url=token_url, token_cache=cache)
    try:
        provider.fetch_token()
        refused = False
    except RateLimitedError:
        refused = True
    print(json.dumps({"sent": provider.token_requests, "refused": refused}))
    """
)


@pytest.fixture
def live() -> Iterator[FakeOfficeRND]:
    with FakeOfficeRND() as server:  # real time: the workers are other processes
        yield server


@pytest.fixture(params=["file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path / "cache")
    url: str = request.getfixturevalue("redis_url")
    return url


def _status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT is not None, "the officernd-auth console script is not installed"
    return subprocess.run([SCRIPT, "status", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip


def test_status_reports_the_budget_eight_processes_spent_together(
    live: FakeOfficeRND, store: str
) -> None:
    app: App = live.add_app([SCOPE])
    workers = start_workers(8, WORKER, app.client_id, app.client_secret, live.token_url, store)
    results = results_of(workers)
    assert sum(r["sent"] for r in results) == 5 == live.token_request_count
    assert sum(r["refused"] for r in results) == 3

    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    env.update(OFFICERND_CLIENT_ID=app.client_id, OFFICERND_CLIENT_SECRET=app.client_secret,
               OFFICERND_SCOPE=SCOPE, OFFICERND_TOKEN_URL=live.token_url,
               OFFICERND_TOKEN_CACHE=store)  # fmt: skip
    done = _status(env, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["store"]["kind"] == ("redis" if store.startswith("redis") else "file")
    assert report["store"]["healthy"] is True
    label = f"{live.host}/{app.client_id[:4]}…{app.client_id[-2:]}"
    [budget] = report["budgets"]
    assert budget["application"] == label
    assert (budget["used"], budget["limit"]) == (5, 5)
    assert 0 < budget["frees_in"] <= 61
    assert budget["server_wait"] == 0
    [token] = report["tokens"]
    assert token["application"] == label
    assert token["state"] == "valid"
    assert token["scopes"] == [SCOPE]

    # In words; without the secret the application is shown by its key, never guessed.
    words = _status(env)
    assert words.returncode == 0
    assert f"{label}" in words.stdout
    assert "5/5 used" in words.stdout
    anonymous = _status({**env, "OFFICERND_CLIENT_SECRET": ""}, "--json")
    [budget] = json.loads(anonymous.stdout)["budgets"]
    assert budget["used"] == 5
    assert "…" not in budget["application"]

    everything = "".join(d.stdout + d.stderr for d in (done, words, anonymous))
    assert app.client_secret not in everything
    assert app.client_id not in everything
    for issued in live.issued_tokens():
        assert issued not in everything


def test_status_says_when_the_store_does_not_answer(tmp_path: Path) -> None:
    from redis_server import free_port

    pytest.importorskip("redis")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    env["OFFICERND_TOKEN_CACHE"] = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    done = _status(env, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["store"]["healthy"] is False
    assert "unreachable" in report["store"]["error"]
    assert "hunter2" not in done.stdout + done.stderr
