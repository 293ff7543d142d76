"""Whether a cache's ``lock`` takes ``timeout=``: read from its code, as ``inspect.signature``
would say, without importing ``inspect`` when a provider is made."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from officernd_auth.cache import FileTokenCache, MemoryTokenCache
from officernd_auth.cache.base import BaseTokenCache, lock_takes_timeout


class OldStyle(BaseTokenCache):
    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:  # type: ignore[override]
        yield


class AnyKeywords(BaseTokenCache):
    @contextlib.contextmanager
    def lock(self, key: str, **options: Any) -> Iterator[None]:  # type: ignore[override]
        yield


class PositionalOnly(BaseTokenCache):
    def lock(self, key: str, timeout: float | None = None, /) -> Any:  # type: ignore[override]
        return contextlib.nullcontext()


class KeywordOnly(BaseTokenCache):
    def lock(self, key: str, *, timeout: float | None = None) -> Any:  # type: ignore[override]
        return contextlib.nullcontext()


class CallableLock:
    def __call__(self, key: str, timeout: float | None = None) -> Any:
        return contextlib.nullcontext()


class ObjectLock(BaseTokenCache):
    lock = CallableLock()  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("cache", "expected"),
    [
        (MemoryTokenCache(), True),
        (BaseTokenCache(), True),
        (OldStyle(), False),
        (AnyKeywords(), False),
        (PositionalOnly(), False),
        (KeywordOnly(), True),
        (ObjectLock(), True),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, bool) else str(value),
)
def test_lock_takes_timeout(cache: Any, expected: bool, tmp_path: Any) -> None:
    assert lock_takes_timeout(cache) is expected


def test_the_file_cache_lock_takes_a_timeout(tmp_path: Any) -> None:
    assert lock_takes_timeout(FileTokenCache(tmp_path))


def test_making_an_auth_object_imports_neither_inspect_nor_oauthlib() -> None:
    # Beyond what requests imports itself (on Python 3.12 and later that includes inspect).
    code = (
        "import sys\n"
        "import requests\n"
        "before = set(sys.modules)\n"
        "from officernd_auth import OfficeRNDAuth\n"
        "OfficeRNDAuth('id', 'secret', 'flex.community.members.read')\n"
        "added = set(sys.modules) - before\n"
        "print(sorted(m for m in ('inspect', 'oauthlib', 'dataclasses') if m in added))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
