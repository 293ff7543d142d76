"""officernd_auth.cli.main: the command line itself (arguments, help, exit codes, the secret
prompt, warnings and errors in one line), run as users run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from officernd_auth.testing import FakeOfficeRND

from .kit import SECRET, Run, prompt_session


def test_secret_from_stdin_never_from_argv(run: Run, live: FakeOfficeRND) -> None:
    piped = run("token", "--client-secret-stdin", stdin=SECRET + "\n", OFFICERND_CLIENT_SECRET=None)
    assert piped.returncode == 0
    rejected = run("token", "--client-secret", "x")
    assert rejected.returncode == 2
    assert "--client-secret is not accepted" in rejected.stderr
    missing = run("token", OFFICERND_CLIENT_SECRET=None)
    assert missing.returncode == 2
    assert "OFFICERND_CLIENT_SECRET" in missing.stderr


def test_usage_errors_exit_2(run: Run) -> None:
    assert run("frobnicate").returncode == 2
    assert run("get").returncode == 2
    assert run("token", "--api-version", "v9").returncode == 2
    assert run().returncode == 0  # no command: help


def test_module_entry_point(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "officernd_auth", "--version"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("officernd-auth ")


@pytest.mark.parametrize(
    "args",
    [
        ("token", "--client-secret", "s3cr3tVALUE"),
        ("token", "--client-secret=s3cr3tVALUE"),
        ("token", "--client-secret-stdin=s3cr3tVALUE"),
        ("token", "--client-sec", "s3cr3tVALUE"),  # no abbreviations
        ("token", "--bogus", "s3cr3tVALUE"),
        ("token", "--bogus=s3cr3tVALUE"),
    ],
)
def test_a_secret_on_the_command_line_is_refused_and_never_echoed(
    run: Run, args: tuple[str, ...]
) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "s3cr3tVALUE" not in result.stdout + result.stderr
    assert result.stderr.count("\n") == 1  # one line, no usage block
    assert result.stderr.startswith("officernd-auth: error: ")


def test_end_of_input_at_the_secret_prompt_exits_2(env: dict[str, str]) -> None:
    code, text = prompt_session(env, b"\x04")  # Ctrl-D
    assert code == 2
    assert "Traceback" not in text
    assert "EOFError" not in text
    assert "no client secret was given at the prompt" in text


def test_enter_at_the_secret_prompt_names_the_cli_options(env: dict[str, str]) -> None:
    code, text = prompt_session(env, b"\r")
    assert code == 2
    assert "no client secret was entered at the prompt" in text
    assert "--client-secret-stdin" in text
    assert "client_secret=" not in text


def test_warnings_are_one_line(run: Run) -> None:
    result = run("check", "--scope", "flex.community.members.read flex.community.widgets.read")
    warning_lines = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert warning_lines
    assert all(line.startswith("officernd-auth: warning: ") for line in warning_lines)
    assert ".py:" not in result.stderr  # no file name and line number
    assert "UnknownScopeWarning" not in result.stderr


def test_errors_name_the_cli_options(run: Run) -> None:
    result = run("get", "members", OFFICERND_ORG=None)
    assert result.returncode == 2
    assert "--org" in result.stderr
    assert "OFFICERND_ORG" in result.stderr
    assert "org=" not in result.stderr


def test_every_command_and_argument_has_help() -> None:
    import argparse

    from officernd_auth.cli.main import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, where: str) -> None:
        for action in parser._actions:  # argparse exposes no public list of its actions
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    helps = {a.dest: a.help for a in action._choices_actions}
                    if not helps.get(name):
                        missing.append(f"{where} {name}")
                    walk(sub, f"{where} {name}")
            elif action.help is None and not isinstance(
                action, (argparse._HelpAction, argparse._VersionAction)
            ):
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "officernd-auth")
    assert missing == []


def test_get_and_request_describe_themselves() -> None:
    for command in ("get", "request"):
        shown = subprocess.run(
            [sys.executable, "-m", "officernd_auth", command, "--help"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert "organisation" in shown.stdout.split("options:")[0]


def test_errors_name_their_cause(run: Run) -> None:
    """The missing scope on a 401, the nearest resource on a 404, the host and cause of a
    network failure (issue 25)."""
    scoped = run("get", "locations", OFFICERND_SCOPE="flex.community.members.read")
    assert scoped.returncode == 1
    assert "flex.space.locations.read" in scoped.stderr
    typo = run("get", "memebers")
    assert "did you mean members?" in typo.stderr
    refused = run("get", "members", OFFICERND_API_URL="http://127.0.0.1:1")
    assert "127.0.0.1:1" in refused.stderr
    assert "refused" in refused.stderr
