"""FileTokenCache: permissions, atomic files, recovery, and single flight across processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from officernd_auth import OfficeRNDSession
from officernd_auth.cache import FileTokenCache, default_cache_dir
from officernd_auth.errors import TokenCacheWarning
from officernd_auth.testing import App, FakeOfficeRND, Fault


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """Even with umask 000 nothing of ours may be readable by others."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_directory_and_file_are_private_from_the_start(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Path, app: App, wide_umask: None
) -> None:
    directory = tmp_path / "deep" / "tokens"
    cache = FileTokenCache(directory)
    session = make_session(token_cache=cache)
    assert session.get("members").status_code == 200
    assert mode(directory) == 0o700
    (entry,) = directory.glob("*.json")
    assert mode(entry) == 0o600
    assert all(mode(lock) == 0o600 for lock in directory.glob("*.lock"))
    assert not list(directory.glob(".*.tmp"))  # the temporary file was renamed, not left
    content = entry.read_text()
    record = json.loads(content)
    assert record["access_token"] == session.access_token
    assert record["expires_at"] > time.time() - 10**10
    assert app.client_secret not in content
    assert app.client_id not in entry.name


def test_an_open_directory_is_tightened(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Path
) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)  # noqa: S103 - the point of the test
    make_session(token_cache=FileTokenCache(directory)).get("members")
    assert mode(directory) == 0o700


def test_shared_between_objects_with_their_own_cache_instances(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path
) -> None:
    make_session(token_cache=FileTokenCache(tmp_path)).get("members")
    fresh = make_session(token_cache=FileTokenCache(tmp_path))
    assert fresh.get("members").status_code == 200
    assert fake.token_request_count == 1


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b'{"format": "officernd-auth/token-cache/1", "access_tok',
        b'{"foo": 1}',
        b"\x00\xff\xfe",
        b'{"format": "officernd-auth/token-cache/1", "access_token": 5}',
        b"[]",
    ],
    ids=["empty", "truncated", "foreign", "binary", "wrong-type", "list"],
)
def test_corrupted_file_is_ignored_with_a_warning_and_replaced(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    tmp_path: Path,
    garbage: bytes,
) -> None:
    first = make_session(token_cache=FileTokenCache(tmp_path))
    first.get("members")
    (entry,) = tmp_path.glob("*.json")
    entry.write_bytes(garbage)
    session = make_session(token_cache=FileTokenCache(tmp_path))
    with pytest.warns(TokenCacheWarning, match="unreadable token cache file"):
        assert session.get("members").status_code == 200
    assert fake.token_request_count == 2
    assert json.loads(entry.read_text())["access_token"] == session.access_token


def test_unusable_directory_degrades_to_memory(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    session = make_session(token_cache=FileTokenCache(blocker / "tokens"))
    with pytest.warns(TokenCacheWarning, match="in memory"):
        assert session.get("members").status_code == 200
    assert session.get("members").status_code == 200
    assert fake.token_request_count == 1


def test_location_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "officernd-auth" in str(default_cache_dir())
    monkeypatch.setenv("OFFICERND_TOKEN_CACHE", str(tmp_path / "x"))
    assert FileTokenCache().directory == tmp_path / "x"
    assert FileTokenCache(tmp_path / "y").directory == tmp_path / "y"


def test_entries_and_clear_show_no_token(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Path
) -> None:
    cache = FileTokenCache(tmp_path)
    session = make_session(token_cache=cache)
    session.get("members")
    (entry,) = cache.entries()
    assert entry.scopes == frozenset({"flex.community.members.read", "flex.space.bookings.read"})
    assert session.access_token not in repr(entry)
    assert cache.clear() == 1
    assert cache.entries() == []


WORKER = textwrap.dedent(
    """
    import sys
    from officernd_auth import OfficeRNDSession
    from officernd_auth.cache import FileTokenCache

    client_id, secret, token_url, api_url, directory = sys.argv[1:6]
    session = OfficeRNDSession(client_id, secret, "flex.community.members.read", org="acme",
                               token_url=token_url, api_url=api_url,
                               token_cache=FileTokenCache(directory))
    print(session.get("members", params={"$limit": 1}).status_code)
    """
)


def test_eight_processes_make_one_token_request(tmp_path: Path) -> None:
    with FakeOfficeRND() as fake:  # real time: the processes share no clock
        fake.seed_sample()
        app = fake.add_app(["flex.community.members.read"])
        fake.fail_next_token_requests(Fault.slow(1.0))  # all of them arrive while it is pending
        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        args = [
            app.client_id,
            app.client_secret,
            fake.token_url,
            fake.api_url,
            str(tmp_path / "cache"),
        ]
        workers = [
            subprocess.Popen(
                [sys.executable, str(script), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        results = [worker.communicate(timeout=60) for worker in workers]
        assert [out.strip() for out, _ in results] == ["200"] * 8, results
        assert fake.token_request_count == 1


class CountingFileCache(FileTokenCache):
    """Counts how often the cross-process lock is taken."""

    locks = 0

    def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:  # type: ignore[override]
        type(self).locks += 1
        return super().lock(key, timeout=timeout)


def test_threads_waiting_on_a_fetch_take_its_token_without_the_file_lock(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path
) -> None:
    import threading

    CountingFileCache.locks = 0
    session = make_session(token_cache=CountingFileCache(tmp_path / "cache"))
    fake.fail_next_token_requests(Fault.slow(0.5))  # every thread arrives while it is pending
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def call() -> None:
        barrier.wait()
        statuses.append(session.get("members").status_code)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 16
    assert fake.token_request_count == 1
    assert CountingFileCache.locks == 1  # the fetching thread's; the others read the file


def test_providers_made_from_one_directory_share_its_cache_and_flight(tmp_path: Path) -> None:
    from officernd_auth import TokenProvider

    scope = "flex.community.members.read"
    first = TokenProvider("id-dir", "secret", scope, token_cache=str(tmp_path))
    second = TokenProvider("id-dir", "secret", scope, token_cache=tmp_path)  # a Path this time
    assert isinstance(first.token_cache, FileTokenCache)
    assert first.token_cache is second.token_cache  # one in-memory copy of the directory
    assert first.flight is second.flight  # one token request in flight between them
    # A cache object the user made is theirs alone: its own flight.
    third = TokenProvider("id-dir", "secret", scope, token_cache=FileTokenCache(tmp_path))
    assert third.flight is not first.flight
    assert FileTokenCache(tmp_path).directory == first.token_cache.directory


def test_a_long_lived_cache_keeps_nothing_for_tokens_that_expired(tmp_path: Path) -> None:
    """A cache object a service keeps reads tokens other processes wrote, for credentials that
    come and go: what it remembers of each file goes when the token has expired."""
    import tracemalloc

    from officernd_auth import Token

    writer, reader = FileTokenCache(tmp_path), FileTokenCache(tmp_path)
    now = time.time()
    keys = [f"{index:064x}" for index in range(600)]
    for index, key in enumerate(keys):
        writer.set(key, Token(f"{index:040x}", expires_at=now - 1, obtained_at=now - 3600))
    for key in keys[:100]:  # warm
        reader.get(key)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for key in keys[100:]:
        assert reader.get(key) is not None
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    # Counted in blocks, not bytes: what a file read leaves behind is at least one block of its
    # own (a stamp kept: three; measured 1,505 for the 500 files when stamps were never dropped,
    # 35 when they are), while the interpreter may reallocate one of its own tables while tracing
    # (pathlib interns file names), one block of any size (5 MB on 3.10 once, in CI).
    kept = sum(d.count_diff for d in after.compare_to(before, "filename"))
    assert kept < 250, kept  # fewer blocks than one per two files read
