"""A script written against the public API type-checks under ``mypy --strict``.

The package ships ``py.typed``; the stubs of its dependencies (requests, oauthlib,
requests-oauthlib) come with the documented ``typing`` extra: ``pip install
'officernd-auth[typing]'``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("typed_user_script.py")
ROOT = SCRIPT.parent.parent.parent


@pytest.mark.integration  # mypy and the stubs come with the integrations extra
def test_user_script_passes_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path), str(SCRIPT)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        # An editable install is an import hook mypy cannot follow: point it at the source.
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
