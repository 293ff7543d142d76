"""officernd_auth.cache.memory: the process's token cache (its conformance to the TokenCache
contract is in test_conformance.py)."""

from __future__ import annotations

import time

from officernd_auth import MemoryTokenCache, Token


def test_expired_tokens_leave_the_memory_cache_by_time() -> None:
    cache = MemoryTokenCache()
    now = time.time()
    for index in range(1_000):  # a burst of short-lived tokens, under any size trigger
        cache.set(f"tenant-{index}", Token(f"{index:040x}", now + 0.2, now, frozenset()))
    time.sleep(0.3)
    cache.set("live", Token("f" * 40, now + 3600, now, frozenset()))
    assert len(cache) == 1
    assert cache.get("live") is not None
