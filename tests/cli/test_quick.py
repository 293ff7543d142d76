"""``officernd-auth token`` with a cached token: printed by officernd_auth.cli.quick alone, by the
same rules as the full CLI (key, directory, trust, freshness), and everything else left to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from officernd_auth.cache import FileTokenCache, cache_key
from officernd_auth.cache.file import default_cache_dir
from officernd_auth.cli.quick import cached_token
from officernd_auth.testing import FakeOfficeRND
from officernd_auth.values.token import Token

SCOPE = "flex.community.members.read"
HEAVY = ("argparse", "requests", "oauthlib", "typing", "dataclasses", "pathlib", "hashlib")


def _environment(fake: FakeOfficeRND, cache: Path) -> dict[str, str]:
    app = fake.add_app([SCOPE])
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFICERND_")}
    environment.update(
        OFFICERND_CLIENT_ID=app.client_id,
        OFFICERND_CLIENT_SECRET=app.client_secret,
        OFFICERND_SCOPE=SCOPE,
        OFFICERND_TOKEN_URL=fake.token_url,
        OFFICERND_TOKEN_CACHE=str(cache),
    )
    return environment


PROBE = (
    "import sys\n"
    "from officernd_auth.cli.quick import main\n"
    "code = main(sys.argv[1:])\n"
    "print(sorted(m for m in {heavy!r} if m in sys.modules), code, file=sys.stderr)\n"
)


def _probe(environment: dict[str, str], *args: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        env=environment, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout, done.stderr.strip().splitlines()[-1]


def test_a_cached_token_is_printed_without_the_heavy_imports(tmp_path: Path) -> None:
    with FakeOfficeRND() as fake:
        environment = _environment(fake, tmp_path / "cache")
        # What Python itself loads here before any of our code (an editable install's import
        # hook loads pathlib, for one): not ours to count.
        listing = f"import sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
        bare = subprocess.run(
            [sys.executable, "-c", listing],
            env=environment, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip
        first, loaded = _probe(environment, "token")  # no token yet: the full CLI fetches one
        assert "'requests'" in loaded
        again, loaded = _probe(environment, "token", "--scope", SCOPE)
        assert again == first
        assert loaded == f"{bare} 0"
        assert fake.token_request_count == 1
        # Options this path does not read go to the full CLI, which answers as it always does.
        _, loaded = _probe(environment, "token", "--no-cache")
        assert "'argparse'" in loaded
        assert fake.token_request_count == 2


def test_it_reads_what_the_file_cache_wrote_by_the_providers_rule(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8080/oauth/token"
    key = cache_key(url, "id", "secret", [SCOPE])
    cache = FileTokenCache(tmp_path / "c")
    import time

    now = time.time()
    cache.set(key, Token("abc", expires_at=now + 3000, obtained_at=now - 599, scopes=frozenset()))
    assert cached_token("id", "secret", SCOPE, url + "/", str(tmp_path / "c")) == "abc"
    assert cached_token("id", "other", SCOPE, url, str(tmp_path / "c")) is None  # another key
    # Inside the leeway (60 s) the provider renews: so does this path, by leaving it.
    cache.set(key, Token("abc", expires_at=now + 30, obtained_at=now - 3569, scopes=frozenset()))
    assert cached_token("id", "secret", SCOPE, url, str(tmp_path / "c")) is None
    # A short-lived token: the leeway is clamped to half its lifetime, as the provider does.
    cache.set(key, Token("abc", expires_at=now + 30, obtained_at=now - 20, scopes=frozenset()))
    assert cached_token("id", "secret", SCOPE, url, str(tmp_path / "c")) == "abc"
    # A directory others may read, or a file others may read: left to the full path.
    os.chmod(tmp_path / "c", 0o750)  # noqa: S103 (the point of the test)
    assert cached_token("id", "secret", SCOPE, url, str(tmp_path / "c")) is None
    os.chmod(tmp_path / "c", 0o700)
    os.chmod(cache.path_for(key), 0o644)
    assert cached_token("id", "secret", SCOPE, url, str(tmp_path / "c")) is None
    assert json.loads(cache.path_for(key).read_text())["access_token"] == "abc"  # untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux rule")
@pytest.mark.parametrize("xdg", [None, "", "  ", "/tmp/xdg-cache"])
def test_the_default_directory_is_platformdirs_own(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from officernd_auth.cli import quick

    monkeypatch.delenv("OFFICERND_TOKEN_CACHE", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert quick.default_directory(None) == str(default_cache_dir())
