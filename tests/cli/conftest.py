"""Fixtures of the officernd-auth command's tests (one file per module of officernd_auth.cli),
run as users run it: the real console script in a subprocess, against an emulator on real time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.testing import App, FakeOfficeRND

from .kit import SCOPE, SCRIPT, SECRET, Run


@pytest.fixture
def cli_app(live: FakeOfficeRND) -> App:
    return live.add_app(
        ["flex.community.members.read", "flex.community.members.create", "officernd.api.read"],
        client_secret=SECRET,
    )


@pytest.fixture
def env(live: FakeOfficeRND, cli_app: App, tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    environment.update(
        OFFICERND_CLIENT_ID=cli_app.client_id,
        OFFICERND_CLIENT_SECRET=SECRET,
        OFFICERND_SCOPE=SCOPE,
        OFFICERND_ORG="acme",
        OFFICERND_TOKEN_URL=live.token_url,
        OFFICERND_API_URL=live.api_url,
        OFFICERND_TOKEN_CACHE=str(tmp_path / "cache"),
    )
    return environment


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    assert SCRIPT is not None, "the officernd-auth console script is not installed"

    def runner(*args: str, stdin: str = "", **overrides: Any) -> subprocess.CompletedProcess[str]:
        environment = dict(env)
        for key, value in overrides.items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        result = subprocess.run(
            [str(SCRIPT), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result

    return runner
