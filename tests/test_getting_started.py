"""docs/getting-started.rst as a newcomer follows it: the shell lines of "Try it without an account"
run verbatim in bash (the emulator started in the background, its export lines sourced), then
every Python example of the page runs in one interpreter started from that shell, with nothing
defined out of sight (unlike the docs build, which sets up its own emulator), and prints what the
page says it prints."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "getting-started.rst"
SEPARATOR = "----- next example -----"


def shell_lines() -> str:
    section = PAGE.read_text(encoding="utf-8").split("Try it without an account", 1)[1]
    block = re.search(r"::\n\n((?:    .*\n)+)", section)
    assert block is not None
    return textwrap.dedent(block[1])


def examples() -> list[tuple[str, str, bool]]:
    """(code, expected output, ELLIPSIS allowed) of every testcode block, in page order."""
    text = PAGE.read_text(encoding="utf-8")
    found = re.findall(
        r"\.\. testcode::\n\n((?:   .*\n|\n)+?)\.\. testoutput::\n((?:   :options: .*\n)?)\n"
        r"((?:   .*\n|\n)+?)(?=\S|\Z)",
        text,
    )
    return [(textwrap.dedent(code), textwrap.dedent(out).strip() + "\n", "ELLIPSIS" in opts)
            for code, opts, out in found]  # fmt: skip


def test_getting_started_runs_as_written(tmp_path: Path) -> None:
    cases = examples()
    assert len(cases) == 3
    script = tmp_path / "examples.py"
    script.write_text(
        f"\nprint({SEPARATOR!r})\n".join(code for code, _, _ in cases), encoding="utf-8"
    )
    lines = shell_lines()
    assert lines.startswith("officernd-auth fake-server > officernd-fake.env &\n")
    # The page's lines, then the examples from the same shell, then the page's way to stop it.
    command = f"{lines}python {script}\nstatus=$?\nkill %1\nwait\nexit $status\n"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("OFFICERND_")}
    done = subprocess.run(
        ["bash", "-c", "set -m\n" + command], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    cli_output, _, printed = done.stdout.partition("\n")  # `officernd-auth get members` (JSON)
    assert cli_output.startswith('{"results":')
    outputs = printed.split(SEPARATOR + "\n")
    checker = doctest.OutputChecker()
    for (code, expected, ellipsis), got in zip(cases, outputs, strict=True):
        flags = doctest.ELLIPSIS if ellipsis else 0
        assert checker.check_output(expected, got, flags), (
            f"{code}\nexpected:\n{expected}got:\n{got}"
        )
    assert "Traceback" not in done.stderr
