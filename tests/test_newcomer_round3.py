"""A newcomer's first hour, third round (#40): what a new user met, each as a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from officernd_auth.testing import App, FakeOfficeRND


@pytest.mark.parametrize("missing", ["httpx", "anyio"])
def test_the_httpx_adapter_without_its_extra_names_the_extra(missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "try:\n"
        "    from officernd_auth.httpx import AsyncOfficeRNDClient\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc.name, '|', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.startswith(f"{missing} |"), out
    assert "pip install 'officernd-auth[httpx]'" in out


def test_the_django_cache_without_django_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "from officernd_auth.cache.django import DjangoTokenCache\n"
        "from officernd_auth import ConfigurationError\n"
        "try:\n"
        "    DjangoTokenCache().cache\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "pip install 'officernd-auth[django]'" in out, out


def test_after_five_wrong_secrets_the_refusal_blames_the_failures(
    fake: FakeOfficeRND, app: App
) -> None:
    from officernd_auth import InvalidClientError, RateLimitedError, TokenProvider

    def provider(secret: str) -> TokenProvider:
        return TokenProvider(
            app.client_id, secret, "flex.community.members.read", token_url=fake.token_url
        )

    for attempt in range(5):  # a notebook cell run again with a typo in the secret
        with pytest.raises(InvalidClientError):
            provider(f"wrong-{attempt}").get_token()
    with pytest.raises(RateLimitedError) as raised:
        provider(app.client_secret).get_token()
    message = str(raised.value)
    assert "Failed token requests spent it" in message, message
    assert "frees by itself in" in message
    assert "officernd_auth.reset()" in message
    assert "Share one session" not in message
    assert app.client_secret not in message
    assert fake.token_request_count == 5


def test_fake_server_misbehaves_on_purpose_from_the_command_line(tmp_path: Path) -> None:
    import json
    import os
    import re
    import shutil
    import signal
    import time

    script = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
    assert script is not None
    server = subprocess.Popen(
        [script, "fake-server", "--fail-token-requests", "503", "--times", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        exports: dict[str, str] = {}
        assert server.stdout is not None
        deadline = time.monotonic() + 20
        while len(exports) < 6 and time.monotonic() < deadline:
            match = re.match(r"export (\w+)='(.*)'", server.stdout.readline())
            if match:
                exports[match[1]] = match[2]
        environment = {**os.environ, **exports, "OFFICERND_TOKEN_CACHE": str(tmp_path)}
        listed = subprocess.run(
            [script, "get", "locations", "--verbose"], capture_output=True, text=True,
            env=environment, check=False, timeout=60,
        )  # fmt: skip
        # The first token request answered 503, the retry got a token.
        assert listed.returncode == 0, listed.stderr
        assert "503" in listed.stderr
        assert len(json.loads(listed.stdout)["results"]) == 3
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=20)
    assert "503" in errors  # the request log names the fault


def test_fake_server_refuses_times_without_a_fault() -> None:
    import shutil

    script = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run(
        [script, "fake-server", "--times", "3"], capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--times goes with --fail-token-requests" in done.stderr


@pytest.mark.parametrize("page", ["auth", "session", "httpx"])
def test_each_guides_first_example_runs_as_pasted(page: str) -> None:
    """The first example of the auth, session and httpx guides, pasted into a fresh Python with
    no OFFICERND_* settings, runs (against the emulator) and prints what the page shows."""
    import os
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / f"{page}.rst").read_text()
    first = text[text.index(".. testcode::") :]
    code, shown = re.match(
        r"\.\. testcode::\n\n((?:   [^\n]*\n|\n)+)\.\. testoutput::\n\n((?:   [^\n]*\n|\n)+)", first
    ).groups()  # type: ignore[union-attr]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(line[3:] for line in code.splitlines())],
        capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == shown.split()
