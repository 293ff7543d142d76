"""Shared fixtures: an emulator on loopback with a controllable clock, and an app on it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.testing import App, FakeClock, FakeOfficeRND

READ_SCOPES = "flex.community.members.read flex.space.bookings.read"
ALL_SCOPES = [
    "flex.community.members.read",
    "flex.community.members.create",
    "flex.community.members.update",
    "flex.community.members.delete",
    "flex.space.bookings.read",
    "flex.space.locations.read",
    "officernd.api.read",
    "officernd.api.write",
]


#: Left out of a run that selects no markers (``-m``): what they need is slow or extra.
OUTSIDE_DEFAULT = ("slow", "integration")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The default run (no ``-m``) is the quick behavioural suite; ``-m slow`` and
    ``-m integration`` select the rest (``nox -s slow integrations``), ``-m "slow or not slow"``
    everything."""
    if config.option.markexpr:
        return
    kept, left = [], []
    for item in items:
        marked = any(item.get_closest_marker(name) for name in OUTSIDE_DEFAULT)
        (left if marked else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.option.markexpr:
        return None
    return (
        "the default suite: the long soaks (-m slow) and the integrations (-m integration, "
        "needs the integrations extra) are left out; see README.rst"
    )


@pytest.fixture(autouse=True)
def _no_officernd_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real OFFICERND_* settings."""
    for name in (
        "OFFICERND_CLIENT_ID",
        "OFFICERND_CLIENT_SECRET",
        "OFFICERND_SCOPE",
        "OFFICERND_ORG",
        "OFFICERND_TOKEN_URL",
        "OFFICERND_API_URL",
        "OFFICERND_TOKEN_CACHE",
    ):
        monkeypatch.delenv(name, raising=False)


PROC = Path("/proc")
#: Children that legitimately live as long as the test process: multiprocessing's resource
#: tracker, started once by the first "spawn" context and kept for reuse.
LONG_LIVED = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _descendants() -> dict[int, str]:
    """This process's running descendants (pid -> command line), read from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state == "Z":  # exited, only not reaped yet: nothing runs
            continue
        pid = int(entry.name)
        parents.setdefault(int(ppid), []).append(pid)
        commands[pid] = command.strip()
    found: dict[int, str] = {}
    stack = [os.getpid()]
    while stack:
        for child in parents.get(stack.pop(), []):
            found[child] = commands[child]
            stack.append(child)
    return found


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """Fails the test that leaves a child process running (after a grace of 3 s), and kills
    it, so that no emulator, worker or lock holder outlives the run. Set up before, torn
    down after, every other fixture of the test."""
    if not PROC.is_dir():  # not Linux: nothing to read the process tree from
        yield
        return
    before = set(_descendants())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        left = {
            pid: command
            for pid, command in _descendants().items()
            if pid not in before and not any(name in command for name in LONG_LIVED)
        }
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(OSError):  # gone meanwhile
            os.kill(pid, signal.SIGKILL)
    if left:
        listed = "; ".join(f"{pid}: {command[:120]}" for pid, command in left.items())
        pytest.fail(f"processes outlived the test (now killed): {listed}", pytrace=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeOfficeRND]:
    with FakeOfficeRND(clock=clock) as server:
        server.seed_sample()
        yield server


@pytest.fixture
def app(fake: FakeOfficeRND) -> App:
    return fake.add_app(ALL_SCOPES)


@pytest.fixture
def live() -> Iterator[FakeOfficeRND]:
    """An emulator with the sample organisation on real time, for what waits for real: event
    loops, worker threads, other processes (the CLI, fleets)."""
    with FakeOfficeRND() as server:
        server.seed_sample()
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Records the waits the library asked for instead of sleeping."""
    return []


@pytest.fixture
def make_session(
    fake: FakeOfficeRND, app: App, clock: FakeClock, sleeps: list[float]
) -> Callable[..., OfficeRNDSession]:
    def factory(**overrides: Any) -> OfficeRNDSession:
        options: dict[str, Any] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": READ_SCOPES,
            "org": "acme",
            "token_url": fake.token_url,
            "api_url": fake.api_url,
            "clock": clock,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return OfficeRNDSession(**options)

    return factory


@pytest.fixture
def make_auth(
    fake: FakeOfficeRND, app: App, clock: FakeClock, sleeps: list[float]
) -> Callable[..., OfficeRNDAuth]:
    def factory(**overrides: Any) -> OfficeRNDAuth:
        options: dict[str, Any] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": READ_SCOPES,
            "token_url": fake.token_url,
            "allowed_hosts": [f"{fake.host}:{fake.port}"],
            "clock": clock,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return OfficeRNDAuth(**options)

    return factory


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port for the test (skipped where there is none)."""
    from redis_server import REDIS_SERVER, RedisServer, free_port

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    pytest.importorskip("redis")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
