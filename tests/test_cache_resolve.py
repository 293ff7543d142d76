"""officernd_auth.cache.resolve: a cache setting (a directory, ``redis://``, ``django://``) gives
one live cache object per setting while something uses it; an object is used as it is."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import pytest

from officernd_auth.cache.resolve import resolve_token_cache


@pytest.mark.parametrize("kind", ["directory", "redis", "django"])
def test_equal_cache_settings_share_one_object(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("redis" if kind == "redis" else "django")
    setting = {
        "directory": str(tmp_path / "tokens"),
        "redis": "redis://127.0.0.1:1/0",  # constructing connects to nothing
        "django": "django://default",
    }[kind]
    first = resolve_token_cache(setting)
    assert resolve_token_cache(setting) is first
    if kind == "directory":
        assert resolve_token_cache(tmp_path / "tokens") is first  # a path spells it too
    dropped = weakref.ref(first)
    del first
    gc.collect()
    assert dropped() is None  # nothing but its users keeps it


def test_a_cache_object_given_is_used_as_it_is(tmp_path: Path) -> None:
    from officernd_auth.cache import FileTokenCache

    given = FileTokenCache(tmp_path)
    assert resolve_token_cache(given) is given
    assert resolve_token_cache(str(tmp_path)) is not given


def test_no_setting_means_no_cache_and_a_relative_directory_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_token_cache(None) is None
    monkeypatch.chdir(tmp_path)
    relative = resolve_token_cache("tokens")
    assert relative is resolve_token_cache(str(tmp_path / "tokens"))
    assert os.path.isabs(str(relative.directory))  # type: ignore[union-attr]
