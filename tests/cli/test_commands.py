"""officernd_auth.cli.commands: each command of officernd-auth, run as users run it (the real
console script in a subprocess)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from officernd_auth.testing import App, FakeOfficeRND, Fault

from .kit import SCOPE, SCRIPT, SECRET, Run


def test_token_prints_only_the_token_and_reuses_it(run: Run, live: FakeOfficeRND) -> None:
    outputs = [run("token") for _ in range(3)]
    assert {r.returncode for r in outputs} == {0}
    assert re.fullmatch(r"[0-9a-f]{40}\n", outputs[0].stdout)
    assert outputs[0].stderr == ""
    assert len({r.stdout for r in outputs}) == 1
    assert live.token_request_count == 1  # the file cache served runs 2 and 3
    run("token", "--no-cache")
    assert live.token_request_count == 2


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


@pytest.mark.parametrize("path", ["../other/members", "//evil.example/x", "members%2F..%2Fx"])
def test_a_path_leaving_the_organisation_is_one_line_and_exit_2(run: Run, path: str) -> None:
    result = run("get", path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "organisation" in result.stderr or "absolute URL" in result.stderr


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


def test_client_ids_are_masked_everywhere(cli_app: App, live: FakeOfficeRND) -> None:
    from officernd_auth import OfficeRNDAuth, OfficeRNDSession, TokenProvider

    for made in (
        OfficeRNDAuth(cli_app.client_id, SECRET, SCOPE),
        OfficeRNDSession(cli_app.client_id, SECRET, SCOPE, org="acme"),
        TokenProvider(cli_app.client_id, SECRET, SCOPE),
    ):
        assert cli_app.client_id not in repr(made)
