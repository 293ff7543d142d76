"""The testing guide's examples (docs/testing.rst, "Code that uses officernd-auth"), run as a user
would: as one test module, in two random orders (pytest-randomly), in a fresh pytest process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "testing.rst"


def examples() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("Code that uses officernd-auth\n", 1)[1]
    section = section.split("\nThe emulator\n", 1)[0]
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


def test_there_are_three_examples() -> None:
    assert len(examples()) == 3


@pytest.mark.parametrize("seed", [1, 2])
def test_readme_examples_pass_in_random_order(tmp_path: Path, seed: int) -> None:
    pytest.importorskip("pytest_randomly")
    for number, code in enumerate(examples()):
        (tmp_path / f"test_example_{number}.py").write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--randomly-seed={seed}", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
