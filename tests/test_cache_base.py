"""officernd_auth.cache.base: what every cache shares. Whether a cache's ``lock`` takes
``timeout=`` (read from its code, as ``inspect.signature`` would say, without importing
``inspect`` when a provider is made); the base class's free ``discard`` and ``lock``; the stored
form of a token; the rules of a shared budget record (spend, settle, block, what status shows).
The TokenCache contract itself is the conformance kit's (test_conformance.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from officernd_auth import Token
from officernd_auth.cache import FileTokenCache, MemoryTokenCache
from officernd_auth.cache.base import (
    BaseTokenCache,
    BudgetUse,
    application_key,
    block_in_record,
    budget_record,
    budget_use,
    lock_takes_timeout,
    record_of,
    settle_in_record,
    spend_in_record,
    token_from_record,
)


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


class _DictCache(BaseTokenCache):
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}

    def get(self, key: str) -> Token | None:
        return self.tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)


def test_the_base_class_discards_only_the_token_it_is_given() -> None:
    cache = _DictCache()
    old = Token("0" * 40, expires_at=2000.0, obtained_at=1000.0)
    new = Token("1" * 40, expires_at=3000.0, obtained_at=1000.0)
    cache.set("k", new)
    cache.discard("k", old)
    assert cache.get("k") is new
    cache.discard("k", new)
    assert cache.get("k") is None
    with cache.lock("k", timeout=1.0):  # nothing to wait for
        pass


def test_a_stored_token_reads_back_equal_and_a_foreign_record_is_none() -> None:
    token = Token("ab" * 20, expires_at=2000.0, obtained_at=1000.0, scopes=frozenset({"b", "a"}))
    assert token_from_record(record_of(token)) == token
    assert token_from_record('{"access_token": "x"}') is None
    assert application_key("https://h/t", "id") != application_key("https://h/t", "id2")


def test_a_budget_record_spends_up_to_its_limit_per_window() -> None:
    record = budget_record({"sent": [], "blocked_until": 0})
    for second in range(5):
        assert spend_in_record(record, 100.0 + second, 5, 60.0) is None
    assert spend_in_record(record, 110.0, 5, 60.0) == (50.0, "budget")  # the oldest frees at 160
    assert budget_use(record, 110.0, 60.0) == BudgetUse(5, 50.0, 0.0)
    assert spend_in_record(record, 160.5, 5, 60.0) is None  # the oldest left the window


def test_a_429_blocks_every_request_until_its_end() -> None:
    record = budget_record({})
    block_in_record(record, until=130.0, now=100.0)
    assert spend_in_record(record, 110.0, None, 60.0) == (20.0, "server")
    assert budget_use(record, 110.0, 60.0).server_wait == 20.0
    assert spend_in_record(record, 130.0, None, 60.0) is None


def test_a_request_is_counted_from_its_answer_once_settled() -> None:
    record = budget_record({})
    assert spend_in_record(record, 100.0, 5, 60.0, at=105.0) is None  # counted at the latest
    settle_in_record(record, 105.0, 101.0)  # it was answered at 101
    assert record["sent"] == [101.0]


@pytest.mark.parametrize(
    "loaded",
    [None, [], "x", {"sent": "x"}, {"sent": [1, "a"]}, {"sent": [float("nan")]},
     {"blocked_until": float("inf")}, {"blocked_until": True}],
)  # fmt: skip
def test_what_others_may_have_written_is_never_a_record(loaded: object) -> None:
    assert budget_record(loaded) == {"sent": [], "blocked_until": 0.0}
