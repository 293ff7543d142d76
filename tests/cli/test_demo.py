"""officernd_auth.cli.demo: ``officernd-auth demo`` against the built-in emulator, in this
process and through the console script."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from officernd_auth.testing import App, FakeOfficeRND
from officernd_auth.testing.emulator import FakeOfficeRND as ServerClass

from .kit import Run


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
