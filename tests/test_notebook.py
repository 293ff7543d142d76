"""examples/explore.ipynb: committed with its outputs, runnable anywhere, and re-executed here
(against the in-kernel emulator and against credentials in the environment), so it never rots
and never stores a secret or a token.

The default suite checks the committed notebook (read as the JSON it is); running it needs a
Jupyter kernel, pandas and matplotlib (the ``integrations`` extra) and is marked
``integration`` (``nox -s integrations``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.testing import FakeOfficeRND

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "explore.ipynb"
TOKEN_SHAPED = re.compile(r"\b[0-9a-f]{40}\b")


def outputs_text(notebook: dict[str, Any]) -> str:
    """The text of every code cell's outputs (a notebook is JSON: cells, each with outputs)."""
    return "\n".join(
        _joined(output.get("text", "")) + str(output.get("data", {}))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


def _joined(text: str | list[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def execute(tmp_path: Path) -> dict[str, Any]:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    from nbclient import NotebookClient
    from traitlets.config import Config

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel talks over Unix sockets in tmp_path, not TCP ports: a port the kernel manager
    # found free can be taken by a parallel test before the kernel binds it (seen in CI). Set by
    # configuration, so that the kernel manager stays nbclient's, and nbclient closes its client.
    sockets = Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "k")}})
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", config=sockets,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    return notebook


def assert_explores(text: str) -> None:
    assert "260 members" in text
    assert "members: 260 items" in text  # the progress bar's text, as it ended
    assert "text/html" in text  # the session's rich display and the DataFrames
    assert "image/png" in text  # the chart
    assert "ScopeError: unknown scope 'flex.community.member.read'" in text
    assert "token requests made by this session: 1" in text
    assert not TOKEN_SHAPED.search(text)


def test_committed_notebook_has_its_outputs_and_nothing_secret() -> None:
    text = outputs_text(json.loads(NOTEBOOK.read_text(encoding="utf-8")))
    assert_explores(text)
    assert "OFFICERND_CLIENT_SECRET=" not in text


@pytest.mark.integration
def test_notebook_runs_without_credentials(tmp_path: Path) -> None:
    text = outputs_text(execute(tmp_path))
    assert "exploring the built-in emulator" in text
    assert_explores(text)


@pytest.mark.integration
def test_notebook_runs_with_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scope = "flex.community.members.read flex.space.bookings.read flex.space.locations.read"
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        app = fake.add_app(scope.split())
        for name, value in {
            "OFFICERND_CLIENT_ID": app.client_id,
            "OFFICERND_CLIENT_SECRET": app.client_secret,
            "OFFICERND_SCOPE": scope,
            "OFFICERND_ORG": "acme",
            "OFFICERND_TOKEN_URL": fake.token_url,
            "OFFICERND_API_URL": fake.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        text = outputs_text(execute(tmp_path))
        assert "with your credentials" in text
        assert_explores(text)
        assert app.client_secret not in text
        assert fake.token_request_count == 1


@pytest.mark.integration
def test_the_documented_headless_command_runs_the_notebook(tmp_path: Path) -> None:
    """docs/session.rst's command, as written, with what the notebook extra installs."""
    import os
    import shutil
    import subprocess
    import sys

    page = (NOTEBOOK.parent.parent / "docs" / "session.rst").read_text(encoding="utf-8")
    command = next(line.strip() for line in page.splitlines() if "nbconvert" in line)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    if jupyter is None:
        pytest.skip("jupyter is not installed (the notebook extra)")
    work = tmp_path / "checkout"
    (work / "examples").mkdir(parents=True)
    shutil.copy(NOTEBOOK, work / "examples" / NOTEBOOK.name)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    done = subprocess.run(
        command.replace("jupyter", jupyter, 1).split(), cwd=work, env=environment,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    executed = json.loads((work / "examples" / "explored.ipynb").read_text(encoding="utf-8"))
    assert "members" in outputs_text(executed)
