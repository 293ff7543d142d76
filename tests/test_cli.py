"""The officernd-auth command, run as users run it: the real console script in a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.testing import App, FakeOfficeRND, Fault
from officernd_auth.testing.emulator import FakeOfficeRND as ServerClass

SCRIPT = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
SECRET = "cli-s3cret-UNIQUE-value-9b1e"
SCOPE = "flex.community.members.read flex.community.members.create"


@pytest.fixture
def live() -> Iterator[FakeOfficeRND]:
    """An emulator on real time, since the CLI runs in other processes."""
    with FakeOfficeRND() as server:
        server.seed_sample()
        yield server


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


Run = Callable[..., subprocess.CompletedProcess[str]]


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


def test_token_prints_only_the_token_and_reuses_it(run: Run, live: FakeOfficeRND) -> None:
    outputs = [run("token") for _ in range(3)]
    assert {r.returncode for r in outputs} == {0}
    assert re.fullmatch(r"[0-9a-f]{40}\n", outputs[0].stdout)
    assert outputs[0].stderr == ""
    assert len({r.stdout for r in outputs}) == 1
    assert live.token_request_count == 1  # the file cache served runs 2 and 3
    run("token", "--no-cache")
    assert live.token_request_count == 2


def test_secret_from_stdin_never_from_argv(run: Run, live: FakeOfficeRND) -> None:
    piped = run("token", "--client-secret-stdin", stdin=SECRET + "\n", OFFICERND_CLIENT_SECRET=None)
    assert piped.returncode == 0
    rejected = run("token", "--client-secret", "x")
    assert rejected.returncode == 2
    assert "--client-secret is not accepted" in rejected.stderr
    missing = run("token", OFFICERND_CLIENT_SECRET=None)
    assert missing.returncode == 2
    assert "OFFICERND_CLIENT_SECRET" in missing.stderr


def test_check_reports(run: Run, cli_app: App, tmp_path: Path) -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert cli_app.client_id not in out
    assert cli_app.client_id[:4] in out
    assert "token URL:" in out
    assert "flex.community.members.create" in out
    assert "granted scopes:" in out
    assert re.search(r"expires in 6\d min|expires in 59 min", out)
    assert str(tmp_path / "cache") in out


def test_check_failures(run: Run) -> None:
    typo = run("check", "--scope", "flex.community.member.read")
    assert typo.returncode == 2
    assert "did you mean 'flex.community.members.read'" in typo.stderr
    wrong = run("check", OFFICERND_CLIENT_SECRET="wrong")
    assert wrong.returncode == 1
    assert "invalid_client" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_get(run: Run) -> None:
    page = run("get", "members", "-p", "$limit=2", "-p", "status=active")
    assert page.returncode == 0, page.stderr
    assert "\n" not in page.stdout.strip()  # compact when piped
    body = json.loads(page.stdout)
    assert len(body["results"]) == 2
    assert {m["status"] for m in body["results"]} == {"active"}
    everything = run("get", "members", "--all")
    assert len(json.loads(everything.stdout)) == 260
    assert everything.stderr == ""  # no progress indicator when stderr is not a terminal
    missing = run("get", "members/nope")
    assert missing.returncode == 1
    assert "HTTP 404" in missing.stderr
    bad = run("get", "members", "-p", "novalue")
    assert bad.returncode == 2


def test_request(run: Run, live: FakeOfficeRND, tmp_path: Path) -> None:
    created = run("request", "post", "members", "--json", '{"name": "Ada"}')
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "Ada"
    body = tmp_path / "member.json"
    body.write_text('{"name": "Grace"}')
    assert run("request", "POST", "members", "--json-file", str(body)).returncode == 0
    assert [r["name"] for r in live.records("members")[-2:]] == ["Ada", "Grace"]
    assert run("request", "POST", "members", "--json", "{nope").returncode == 2
    denied = run("request", "DELETE", "members/x")
    assert denied.returncode == 1
    assert "lacks flex.community.members.delete" in denied.stderr  # the scope it needs


def test_cache_show_and_clear(run: Run, env: dict[str, str]) -> None:
    token = run("token").stdout.strip()
    shown = run("cache", "show")
    assert shown.returncode == 0
    assert "valid for" in shown.stdout
    assert "flex.community.members.read" in shown.stdout
    assert token not in shown.stdout
    # The host and masked client id of the configured credentials, as `gh auth status` shows
    # host and account, and that this endpoint is not OfficeRND's.
    client_id = env["OFFICERND_CLIENT_ID"]
    label = f"127.0.0.1/{client_id[:4]}…{client_id[-2:]} (not OfficeRND's token endpoint)"
    assert label in shown.stdout
    assert client_id not in shown.stdout
    assert "removed 1" in run("cache", "clear").stdout
    assert "(empty)" in run("cache", "show").stdout


def test_verbose_logs_are_redacted(run: Run) -> None:
    result = run("token", "--verbose", "--no-cache")
    assert result.returncode == 0
    assert "DEBUG" in result.stderr
    assert result.stdout.strip() not in result.stderr


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


def test_fake_server_prints_exports_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    assert SCRIPT is not None
    server = subprocess.Popen(
        [SCRIPT, "fake-server", "--expires-in", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        assert server.stdout is not None
        deadline = time.monotonic() + 20
        while len(exports) < 6 and time.monotonic() < deadline:
            line = server.stdout.readline()
            match = re.match(r"export (\w+)='(.*)'", line)
            if match:
                exports[match[1]] = match[2]
        assert set(exports) == {
            "OFFICERND_TOKEN_URL",
            "OFFICERND_API_URL",
            "OFFICERND_ORG",
            "OFFICERND_CLIENT_ID",
            "OFFICERND_CLIENT_SECRET",
            "OFFICERND_SCOPE",
        }
        environment = {**os.environ, **exports, "OFFICERND_TOKEN_CACHE": str(tmp_path)}
        listed = subprocess.run(
            [SCRIPT, "get", "locations"],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=30,
        )
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)["results"]) == 3
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()  # never leave an orphan emulator (or its pipes) behind
            server.communicate()
            raise
    assert server.returncode == 0
    assert "Traceback" not in errors
    assert "stopped (SIGINT)" in errors
    # one line per request it answered, with no token or secret in it
    assert "POST /oauth/token 200: " in errors
    assert "GET /api/v2/organizations/acme/locations 200\n" in errors
    assert exports["OFFICERND_CLIENT_SECRET"] not in errors
    assert exports["OFFICERND_CLIENT_ID"] not in errors


def test_demo_runs_fast_and_prints_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from officernd_auth.cli.demo import run_demo

    servers: list[FakeOfficeRND] = []
    apps: list[App] = []
    original_add_app = ServerClass.add_app
    original_start = ServerClass.start

    def add_app(self: FakeOfficeRND, *args: Any, **kwargs: Any) -> App:
        app = original_add_app(self, *args, **kwargs)
        apps.append(app)
        return app

    def start(self: FakeOfficeRND) -> FakeOfficeRND:
        servers.append(self)
        return original_start(self)

    monkeypatch.setattr(ServerClass, "add_app", add_app)
    monkeypatch.setattr(ServerClass, "start", start)
    out = io.StringIO()
    started = time.perf_counter()
    assert run_demo(out) == 0
    assert time.perf_counter() - started < 10
    text = out.getvalue()
    for phrase in (
        "token requests so far: 0",
        "token requests: 1",
        "260 members",
        "did you mean 'flex.community.members.read'",
        "after [401]",
        "6: RateLimitedError: not sent",
        "requests the server saw: 5",
        "Authorization header sent there: False",
    ):
        assert phrase in text
    assert apps
    for app in apps:
        assert app.client_secret not in text
    for token in servers[0].issued_tokens():
        assert token not in text


def test_demo_through_the_console_script(run: Run) -> None:
    result = run("demo")
    assert result.returncode == 0
    assert "Done in" in result.stdout


def test_verbose_error_paths_leak_nothing(run: Run, live: FakeOfficeRND, tmp_path: Path) -> None:
    outputs = [
        run("check", "--verbose"),
        run("get", "members", "--verbose", "-p", "$limit=1"),
        run("get", "members/missing", "--verbose"),
        run("request", "DELETE", "members/x", "--verbose"),
        run("check", "--verbose", OFFICERND_CLIENT_SECRET="wrong-" + SECRET),
        run("cache", "show"),
    ]
    live.fail_next_token_requests(Fault.server_error(), count=3)
    outputs.append(run("token", "--verbose", "--no-cache"))
    text = "\n".join(r.stdout + r.stderr for r in outputs)
    assert "DEBUG" in text
    assert SECRET not in text
    for token in live.issued_tokens():
        assert token not in text
    for entry in (tmp_path / "cache").glob("*.json"):
        content = entry.read_text()
        assert SECRET not in content
        assert json.loads(content)["access_token"] in live.issued_tokens()


def test_terminal_output_is_pretty_with_progress(env: dict[str, str]) -> None:
    import fcntl
    import pty
    import struct
    import termios

    pytest.importorskip("tqdm")
    assert SCRIPT is not None
    controller, terminal = pty.openpty()
    # A terminal of 24 x 100 characters, as a user's would be (a new pty has no size).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [SCRIPT, "get", "members", "--all"], stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)  # the child holds the terminal now; read until it closes it
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child exited and the terminal is drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
    assert process.wait(timeout=60) == 0
    screen = b"".join(chunks).decode()
    assert "members: 100%" in screen or "members: 260 items" in screen  # tqdm, on a terminal
    assert "260" in screen
    assert '\r\n  {\r\n    "_id"' in screen  # indented JSON on a terminal
    assert SECRET not in screen


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


@pytest.mark.parametrize("path", ["../other/members", "//evil.example/x", "members%2F..%2Fx"])
def test_a_path_leaving_the_organisation_is_one_line_and_exit_2(run: Run, path: str) -> None:
    result = run("get", path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "organisation" in result.stderr or "absolute URL" in result.stderr


def prompt_session(env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run ``officernd-auth token`` on a real terminal, answer its secret prompt with
    ``answer`` (raw bytes: Ctrl-D is b"\\x04"), return the exit code and the screen."""
    import fcntl
    import pty
    import termios

    assert SCRIPT is not None
    environment = {k: v for k, v in env.items() if k != "OFFICERND_CLIENT_SECRET"}
    controller, terminal = pty.openpty()

    def own_terminal() -> None:  # the prompt reads the controlling terminal, as getpass does
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [SCRIPT, "token", "--no-cache"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment,
        start_new_session=True,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    screen = b""
    deadline = time.monotonic() + 30
    while b"secret:" not in screen and time.monotonic() < deadline:
        screen += os.read(controller, 1024)
    os.write(controller, answer)
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(controller)
    return process.wait(timeout=30), screen.decode()


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


def test_check_confirms_the_organisation(run: Run) -> None:
    good = run("check")
    assert good.returncode == 0
    assert "organisation: acme answers" in good.stdout
    wrong = run("check", "--org", "doesnotexist")
    assert wrong.returncode == 1
    assert "app.officernd.com/<slug>" in wrong.stderr
    assert "--org" in wrong.stderr


def test_a_wrong_token_url_path_says_to_check_it(run: Run, live: FakeOfficeRND) -> None:
    result = run("token", "--no-cache", OFFICERND_TOKEN_URL=live.url + "/oauth/tokn")
    assert result.returncode == 1
    assert "check token_url" in result.stderr
    assert "404" in result.stderr


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


def test_client_ids_are_masked_everywhere(cli_app: App, live: FakeOfficeRND) -> None:
    from officernd_auth import OfficeRNDAuth, OfficeRNDSession, TokenProvider

    for made in (
        OfficeRNDAuth(cli_app.client_id, SECRET, SCOPE),
        OfficeRNDSession(cli_app.client_id, SECRET, SCOPE, org="acme"),
        TokenProvider(cli_app.client_id, SECRET, SCOPE),
    ):
        assert cli_app.client_id not in repr(made)


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


def test_get_and_request_describe_themselves() -> None:
    for command in ("get", "request"):
        shown = subprocess.run(
            [sys.executable, "-m", "officernd_auth", command, "--help"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert "organisation" in shown.stdout.split("options:")[0]
