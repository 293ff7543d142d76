"""Every example in the README and the documentation runs.

The documentation's Python examples are ``testcode`` blocks that ``nox -s docs`` runs against the
emulator (Sphinx's doctest builder); the few that are whole test modules or web applications are
run by the tests named below. This module makes sure no plain, unrun Python block creeps in, and
runs the README's examples and the command-line examples against the emulator: they are written
for production, so OfficeRND's API origin is replaced by the emulator's before they run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.testing import FakeOfficeRND

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PRODUCTION_API = "https://app.officernd.com"

#: Pages whose plain Python blocks are run by a test module instead of the docs build.
RUN_BY_TESTS = {
    "webhooks.rst": 3,  # tests/test_webhook_frameworks.py
    "testing.rst": 3,  # tests/compat/test_docs_testing_examples.py
    "httpx.rst": 1,  # tests/test_httpx_guide.py (FastAPI, integrations)
}


def python_blocks(text: str) -> list[str]:
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.M)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


def shell_commands(text: str) -> list[str]:
    """The commands of a page's ``code-block:: sh`` blocks and README ``::`` blocks that call
    ``officernd-auth``, continuation lines joined and comments dropped."""
    commands = []
    for block in re.findall(r"(?:^\.\. code-block:: sh|::)\n\n((?:    .*\n|\n)+)", text, re.M):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            command = line.split("  #", 1)[0].strip()
            if "officernd-auth" in command and "pip install" not in command:
                commands.append(command)
    return commands


def test_every_python_example_in_the_documentation_is_run() -> None:
    pages = sorted(DOCS.glob("*.rst"))
    assert len(pages) >= 12
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert len(python_blocks(text)) == RUN_BY_TESTS.get(page.name, 0), (
            f"{page.name}: write Python examples as `.. testcode::` so the docs build runs them"
        )
    guides = ["index", "getting-started", "session", "auth", "behaviour", "caches", "testing"]
    for name in guides:
        assert ".. testcode::" in (DOCS / f"{name}.rst").read_text(encoding="utf-8"), name


@pytest.fixture
def environment(officernd_fake: FakeOfficeRND, tmp_path: Path) -> dict[str, str]:
    scopes = "flex.community.members.read flex.community.members.create"
    app = officernd_fake.add_app(scopes.split())
    return {
        "OFFICERND_CLIENT_ID": app.client_id,
        "OFFICERND_CLIENT_SECRET": app.client_secret,
        "OFFICERND_SCOPE": scopes,
        "OFFICERND_ORG": "acme",
        "OFFICERND_TOKEN_URL": officernd_fake.token_url,
        "OFFICERND_API_URL": officernd_fake.api_url,
        "OFFICERND_TOKEN_CACHE": str(tmp_path / "cache"),
    }


def test_the_readme_python_examples_run(
    environment: dict[str, str],
    officernd_fake: FakeOfficeRND,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = python_blocks((ROOT / "README.rst").read_text(encoding="utf-8"))
    assert len(blocks) == 3
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OFFICERND_TOKEN_CACHE")
    namespace: dict[str, Any] = {
        "CLIENT_ID": environment["OFFICERND_CLIENT_ID"],
        "CLIENT_SECRET": environment["OFFICERND_CLIENT_SECRET"],
    }
    for number, code in enumerate(blocks):
        code = code.replace(PRODUCTION_API, officernd_fake.api_url)
        exec(compile(code, f"README.rst (example {number + 1})", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 260  # every member's name, from paginate()
    # the auth objects (requests, httpx) reused the session's token
    assert officernd_fake.token_request_count == 1


def run(command: str, environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", command], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_command_line_examples_run(
    environment: dict[str, str], officernd_fake: FakeOfficeRND, tmp_path: Path
) -> None:
    readme = shell_commands((ROOT / "README.rst").read_text(encoding="utf-8"))
    page = shell_commands((DOCS / "cli.rst").read_text(encoding="utf-8"))
    assert len(readme) == 1
    assert len(page) == 9
    ran = 0
    for command in readme + page:
        command = command.replace(PRODUCTION_API, officernd_fake.api_url)
        if command.startswith("officernd-auth fake-server"):
            # Runs in the foreground until stopped: wait for its export lines, then stop it.
            env = {**os.environ, **environment}
            server = subprocess.Popen(
                [Path(sys.executable).parent / "officernd-auth", "fake-server"],
                env=env, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert server.stdout is not None
            with server.stdout:
                try:
                    lines = iter(server.stdout.readline, "")
                    assert any(line.startswith("export OFFICERND_") for line in lines)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        else:
            done = run(command, environment, tmp_path)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            if command.startswith("curl"):
                assert '"results"' in done.stdout
        ran += 1
    assert ran == 10
    assert (tmp_path / "members.json").read_text(encoding="utf-8").count('"name"') > 50
    assert officernd_fake.token_request_count <= 2  # the file cache; `cache clear` forgets it
