"""examples/explore.ipynb runs top to bottom against the emulator, so it can never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from officernd_auth.testing import FakeOfficeRND

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "explore.ipynb"


@pytest.mark.slow
def test_notebook_executes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        app = fake.add_app(["flex.community.members.read"])
        for name, value in {
            "OFFICERND_CLIENT_ID": app.client_id,
            "OFFICERND_CLIENT_SECRET": app.client_secret,
            "OFFICERND_SCOPE": "flex.community.members.read",
            "OFFICERND_ORG": "acme",
            "OFFICERND_TOKEN_URL": fake.token_url,
            "OFFICERND_API_URL": fake.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
        outputs = [
            out
            for cell in notebook.cells
            if cell.cell_type == "code"
            for out in cell.get("outputs", [])
        ]
        text = "\n".join(str(out.get("text", "")) + str(out.get("data", {})) for out in outputs)
        assert "260 members" in text
        assert "text/html" in text  # the session's _repr_html_
        assert "token requests made by this session: 1" in text
        assert app.client_secret not in text
        assert fake.token_request_count == 1
