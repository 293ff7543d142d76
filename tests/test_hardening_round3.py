"""Hardening, third round (#39): shared records that cannot lock anyone out, waits bounded by
the call's deadline, and what a newcomer and a new Python found. Each test failed before its
fix."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from multiprocess import read_line

from officernd_auth import OfficeRNDAuthError, TokenProvider
from officernd_auth.cache import FileTokenCache, application_key
from officernd_auth.cache.django import DjangoTokenCache
from officernd_auth.testing import App, FakeOfficeRND
from officernd_auth.values.deadline import MAX_SERVER_WAIT
from officernd_auth.values.urls import origin_url

HERE = Path(__file__).resolve().parent

SCOPE = "flex.community.members.read"
YEAR = 365 * 24 * 3600.0


def provider_for(fake: FakeOfficeRND, app: App, cache: Any, **options: Any) -> TokenProvider:
    return TokenProvider(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, token_cache=cache,
        **options,
    )  # fmt: skip


def application_of(fake: FakeOfficeRND, app: App) -> str:
    return application_key(origin_url(fake.token_url), app.client_id)


# -- 1. Redis budget values are not trusted --------------------------------------------------


def test_planted_redis_budget_values_neither_lock_out_nor_raise(
    fake: FakeOfficeRND, app: App, redis_url: str
) -> None:
    import redis

    from officernd_auth.cache import RedisTokenCache

    cache = RedisTokenCache(redis_url)
    client = redis.Redis.from_url(redis_url)
    application = application_of(fake, app)
    sent, wait = (f"{cache.prefix}budget:{application}:{part}" for part in ("sent", "wait"))
    now = time.time()
    # Send times 30 years ahead and at +inf are not in any window: ignored, not counted.
    client.zadd(sent, {f"ahead-{i}": now + 30 * YEAR for i in range(5)})
    client.zadd(sent, {"infinite": float("inf")})
    assert cache.spend_budget(application_of(fake, app), now, 5, 60.0) is None
    assert client.zcard(sent) == 1
    # A server wait 30 years ahead, with no TTL: clamped to the longest a 429 asks for.
    client.set(wait, str(now + 30 * YEAR))
    refused = cache.spend_budget(application_of(fake, app), now, 5, 60.0)
    assert refused is not None
    assert refused[1] == "server"
    assert refused[0] <= MAX_SERVER_WAIT
    assert 0 < client.pttl(wait) <= MAX_SERVER_WAIT * 1000  # and it now expires
    # "inf" and garbage: no OverflowError from a fetch, a bounded wait at most.
    client.set(wait, "inf")
    refused = cache.spend_budget(application_of(fake, app), now, 5, 60.0)
    assert refused is None or refused[0] <= MAX_SERVER_WAIT
    client.set(wait, "nan")
    assert cache.spend_budget(application_of(fake, app), now, 5, 60.0) is None
    client.set(wait, "soon")
    assert cache.spend_budget(application_of(fake, app), now, 5, 60.0) is None
    # Through a provider: a planted wait gives a RateLimitedError with a bounded wait.
    client.set(wait, str(now + 30 * YEAR))
    with pytest.raises(OfficeRNDAuthError) as raised:
        provider_for(fake, app, cache).get_token()
    waited = re.search(r"retry in ([0-9.]+) s", str(raised.value))
    assert waited is not None, str(raised.value)
    assert float(waited.group(1)) <= MAX_SERVER_WAIT, str(raised.value)
    assert fake.token_request_count == 0
    # A budget key the refusal path leaves behind has a TTL too.
    client.delete(wait)
    client.zadd(sent, {f"now-{i}": now for i in range(5)})
    client.persist(sent)
    assert cache.spend_budget(application_of(fake, app), now, 5, 60.0) is not None
    assert client.pttl(sent) > 0


# -- 2. Django budget records are validated --------------------------------------------------


class PlainStore:
    """A Django-like cache backend (get, set, add, delete) in a dict: the records under test
    are what matters here, not Django's storage (the kit runs on Django's real caches)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def set(self, name: str, value: Any, timeout: Any = None) -> None:
        self.values[name] = value

    def add(self, name: str, value: Any, timeout: Any = None) -> bool:
        if name in self.values:
            return False
        self.values[name] = value
        return True

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


class StoreCache(DjangoTokenCache):
    def __init__(self, store: PlainStore) -> None:
        super().__init__("default")
        self.store = store

    @property
    def cache(self) -> Any:
        return self.store


@pytest.mark.parametrize(
    "planted",
    ["[1, 2]", '{"sent": 5}', '{"blocked_until": "soon"}', '{"blocked_until": Infinity}',
     '{"sent": [Infinity, "x"]}', "not json", '{"sent": [1e400]}'],
)  # fmt: skip
def test_planted_django_budget_records_are_a_fresh_record(planted: str) -> None:
    store = PlainStore()
    cache = StoreCache(store)
    store.values["officernd-auth:budget:app"] = planted
    now = time.time()
    assert cache.spend_budget("app", now, 5, 60.0) is None
    assert json.loads(store.values["officernd-auth:budget:app"])["sent"] == [now]


def test_a_far_future_django_block_waits_at_most_the_cap() -> None:
    store = PlainStore()
    cache = StoreCache(store)
    now = time.time()
    record = {"sent": [], "blocked_until": now + YEAR}
    store.values["officernd-auth:budget:app"] = json.dumps(record)
    refused = cache.spend_budget("app", now, 5, 60.0)
    assert refused is not None
    assert refused[0] <= MAX_SERVER_WAIT


# -- 3. File budget blocks are bounded, and the CLI clears them -------------------------------


def test_a_file_block_recorded_with_the_clock_a_year_ahead_is_clamped(
    fake: FakeOfficeRND, app: App, tmp_path: Path
) -> None:
    cache = FileTokenCache(tmp_path)
    now = time.time()
    cache.block_budget(application_of(fake, app), now + YEAR, now + YEAR - 10)  # clock ahead
    refused = cache.spend_budget(application_of(fake, app), now, 5, 60.0)
    assert refused is not None
    assert refused[1] == "server"
    assert refused[0] <= MAX_SERVER_WAIT
    # A block written as is (by an older version, or by hand) is clamped on read as well.
    path = tmp_path / f"{application_of(fake, app)}.budget"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "blocked_until": now + YEAR}))
    refused = cache.spend_budget(application_of(fake, app), now, 5, 60.0)
    assert refused is not None
    assert refused[0] <= MAX_SERVER_WAIT


def test_the_cli_clears_the_budget_records(fake: FakeOfficeRND, app: App, tmp_path: Path) -> None:
    import shutil

    cache = FileTokenCache(tmp_path / "cache")
    now = time.time()
    cache.block_budget(application_of(fake, app), now + 600, now)
    script = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    env["OFFICERND_TOKEN_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [script, "cache", "clear", "--budget"], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "removed 1 budget record" in done.stdout
    assert cache.spend_budget(application_of(fake, app), now, 5, 60.0) is None
    shown = subprocess.run(
        [script, "cache", "show", "--budget"], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    assert shown.returncode == 2
    assert "--budget goes with cache clear" in shown.stderr


# -- 4. Waiting for a budget lock is bounded by the call's deadline ---------------------------

HOLD = """
import fcntl, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_a_hung_budget_lock_holder_costs_at_most_the_calls_timeout(
    fake: FakeOfficeRND, app: App, tmp_path: Path
) -> None:
    cache = FileTokenCache(tmp_path)
    lock = tmp_path / f"{application_of(fake, app)}.budget.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert read_line(holder) == "held"
        provider = provider_for(fake, app, cache)
        started = time.monotonic()
        token = provider.get_token(timeout=2)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert token.access_token
    assert elapsed < 4.0, elapsed  # the lock's own bound is 30 s


# -- 11. Django's file-based cache directory is re-created private ----------------------------


def test_the_django_file_lock_recreates_a_removed_directory_private(tmp_path: Path) -> None:
    import stat

    from officernd_auth.cache.django import _file_locked

    directory = tmp_path / "django-cache"
    previous = os.umask(0)
    try:
        for _ in _file_locked(str(directory), "officernd-auth:lock", 1.0):
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


# -- 14 and 17: token dicts as users hold them ------------------------------------------------


def test_a_token_dict_with_numeric_string_expiries_is_read_as_numbers(
    fake: FakeOfficeRND, app: App
) -> None:
    from officernd_auth import OfficeRNDSession

    session = OfficeRNDSession(
        app.client_id, app.client_secret, SCOPE, org="acme", token_url=fake.token_url,
        api_url=fake.api_url,
    )  # fmt: skip
    session.token = {"access_token": "a" * 40, "expires_in": "3600", "token_type": "Bearer"}
    assert 3500 < session.token["expires_in"] <= 3600
    later = time.time() + 1800
    session.token = {"access_token": "b" * 40, "expires_at": f" {later} "}
    assert 1700 < session.token["expires_in"] <= 1800
    assert fake.token_request_count == 0
    from officernd_auth import ConfigurationError

    for bad in ({"expires_in": "an hour"}, {"expires_at": "soon"}, {"expires_in": True}):
        with pytest.raises(ConfigurationError, match="expires_"):
            session.token = {"access_token": "c" * 40, **bad}


def test_a_seeded_token_with_characters_no_bearer_token_has_is_refused(
    fake: FakeOfficeRND, app: App
) -> None:
    from officernd_auth import ConfigurationError

    provider = provider_for(fake, app, None)
    for bad in ("abc\r\nX-Injected: 1", "has space", "tab\there", "é" * 10):
        with pytest.raises(ConfigurationError, match="bearer token cannot hold"):
            provider.seed({"access_token": bad, "expires_in": 3600})
    assert provider.seed({"access_token": "abc.DEF-123_~+/==", "expires_in": 60}).access_token


# -- 16: what the emulator catches it closes (Python 3.14 warns about the rest) ----------------


def test_the_emulators_webhook_delivery_closes_the_error_responses_it_catches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import urllib.error

    from officernd_auth.testing import WebhookReceiver

    caught: list[urllib.error.HTTPError] = []
    original = urllib.error.HTTPError.__init__

    def recording(self: urllib.error.HTTPError, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        caught.append(self)

    monkeypatch.setattr(urllib.error.HTTPError, "__init__", recording)
    with FakeOfficeRND() as fake, WebhookReceiver() as receiver:
        receiver.answer = lambda request: 500  # type: ignore[assignment]
        failed = fake.send_webhook(receiver.url, "booking.created", {}, secret="s")
    assert failed.attempts == len(caught) == 3
    assert all(error.fp is None or error.fp.closed for error in caught)


# -- 15: the command line and a closed pipe ---------------------------------------------------


def test_the_cli_ends_quietly_when_its_reader_goes_away(
    fake: FakeOfficeRND, app: App, tmp_path: Path
) -> None:
    import shutil

    script = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    env.update(
        OFFICERND_CLIENT_ID=app.client_id, OFFICERND_CLIENT_SECRET=app.client_secret,
        OFFICERND_SCOPE=SCOPE, OFFICERND_ORG="acme", OFFICERND_TOKEN_URL=fake.token_url,
        OFFICERND_API_URL=fake.api_url, OFFICERND_TOKEN_CACHE=str(tmp_path / "cache"),
    )  # fmt: skip
    for command in (["get", "members", "--all"], ["token"], ["token"]):  # the second: cached
        process = subprocess.Popen(
            [script, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before anything is written
        errors = process.stderr.read().decode()
        process.stderr.close()
        assert process.wait(timeout=60) == 141, errors
        assert errors == "", errors


# -- 6: per-call transport overrides never share a pool with other settings --------------------


def test_a_per_call_verify_override_gets_a_pool_of_its_own(fake: FakeOfficeRND, app: App) -> None:
    from officernd_auth.requests_adapter.transport import shared_session

    provider = provider_for(fake, app, None, token_budget=None)
    provider.fetch_token(verify=False)
    default = shared_session(True, None, {}, True)
    unverified = shared_session(False, None, {}, True)
    assert default is not unverified

    def reaches_the_emulator(session: Any) -> bool:
        pools = session.get_adapter(fake.token_url).poolmanager.pools
        # urllib3's container refuses iteration itself (not thread-safe): its keys() copies
        return any(key.key_port == fake.port for key in pools.keys())  # noqa: SIM118

    assert reaches_the_emulator(unverified)  # the override's request went through its own pool
    assert not reaches_the_emulator(default)
    provider.fetch_token()
    assert reaches_the_emulator(default)  # and the default settings' through theirs


def test_the_declared_requests_floor_has_no_known_credential_leak() -> None:
    text = (HERE.parent / "pyproject.toml").read_text(encoding="utf-8")
    floor = re.search(r'"requests>=([0-9.]+)"', text)[1]  # type: ignore[index]
    assert tuple(map(int, floor.split("."))) >= (2, 32, 4)  # CVE-2024-35195, CVE-2024-47081


# -- 13: the bare auth and the call's timeout -------------------------------------------------


def test_a_bare_auth_waits_at_most_its_token_deadline_and_says_which_bound_ran_out(
    fake: FakeOfficeRND, app: App
) -> None:
    import requests

    from officernd_auth import OfficeRNDAuth, TokenEndpointError
    from officernd_auth.testing import Fault

    fake.fail_next_token_requests(Fault.slow(5.0), 3)
    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url,
        allowed_hosts=[f"{fake.host}:{fake.port}"], token_timeout=(1.0, 0.6), token_deadline=1.5,
        backoff=0.05,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(TokenEndpointError) as raised:
        # requests does not hand the auth this timeout: token_deadline bounds the wait.
        requests.get(fake.api_url + "/api/v2/organizations/acme/members", auth=auth, timeout=30)
    assert time.monotonic() - started < 3.0
    assert "token_deadline (1.5 s)" in str(raised.value)


# -- 17: the file cache's discard spares a token another process stores meanwhile -------------


def test_file_discard_never_removes_a_token_stored_meanwhile(tmp_path: Path) -> None:
    import threading

    from officernd_auth import Token

    read, stored = threading.Event(), threading.Event()

    class Observed(FileTokenCache):
        """Signals once discard has read the file, then lets a writer act: a writer that can
        store meanwhile (a discard that does not hold the key's lock) ends the wait at once."""

        def get(self, key: str) -> Token | None:
            found = super().get(key)
            if threading.current_thread() is threading.main_thread():
                read.set()
                stored.wait(0.5)  # the writer is held by the lock: it cannot store
            return found

    now = time.time()
    old = Token("0" * 40, expires_at=now + 600, obtained_at=now)
    new = Token("1" * 40, expires_at=now + 3600, obtained_at=now)
    key = "a" * 64
    cache, writer = Observed(tmp_path), FileTokenCache(tmp_path)
    writer.set(key, old)

    def store_new() -> None:  # as a provider stores: under the key's cross-process lock
        read.wait(10)
        with writer.lock(key):
            writer.set(key, new)
        stored.set()

    thread = threading.Thread(target=store_new)
    thread.start()
    cache.discard(key, old)
    thread.join(10)
    assert FileTokenCache(tmp_path).get(key) == new


def test_retry_after_as_an_http_date_is_read_as_that_date() -> None:
    from email.utils import formatdate

    from officernd_auth.core.client import parse_retry_after

    in_two_minutes = parse_retry_after(formatdate(time.time() + 120, usegmt=True))
    assert in_two_minutes is not None
    assert 115 <= in_two_minutes <= 120
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert parse_retry_after(formatdate(time.time() + 10 * YEAR, usegmt=True)) == MAX_SERVER_WAIT
    assert parse_retry_after("7") == 7.0
    for unusable in ("soon", "Wed, 99 Foo 2026 99:99:99 GMT", "-5", "nan", ""):
        assert parse_retry_after(unusable) is None


# -- 5: a request is counted until its answer, however long its sender stalled ----------------


@pytest.fixture(params=["file", "redis"])
def budget_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "file":
        return FileTokenCache(tmp_path)
    from officernd_auth.cache import RedisTokenCache

    return RedisTokenCache(request.getfixturevalue("redis_url"))


def test_a_request_in_flight_is_counted_until_its_answer(budget_store: Any) -> None:
    application, window, now = "stalled-app", 2.0, time.time()
    # A worker's request is let out, counted from the latest moment it could arrive...
    assert budget_store.spend_budget(application, now, 1, window, at=now + 30) is None
    # ... so a worker stalled longer than the window between the yes and sending still holds
    # the budget: another worker is refused (counted from the yes, it had been let out).
    refused = budget_store.spend_budget(application, now + 3, 1, window)
    assert refused is not None
    assert refused[1] == "budget"
    # Its answer came at +3.5: it is counted a window from then, and no longer.
    budget_store.settle_budget(application, now + 30, now + 3.5, window)
    assert budget_store.spend_budget(application, now + 5.0, 1, window) is not None
    assert budget_store.spend_budget(application, now + 5.6, 1, window) is None
