"""The conformance kit against DjangoTokenCache on Django's Redis, file-based and database
caches. Run by tests/test_django_cache.py in a pytest of its own, with
``DJANGO_SETTINGS_MODULE=django_settings`` (Django's settings are the whole process's)."""

from __future__ import annotations

import os
from pathlib import Path

import django
import pytest
from django.core.cache import caches
from django.core.management import call_command

from officernd_auth import ConfigurationError
from officernd_auth.cache import TokenCache
from officernd_auth.cache.django import DjangoTokenCache
from officernd_auth.testing.conformance import TokenCacheContract

django.setup()
call_command("createcachetable", verbosity=0)
DIRECTORY = Path(os.environ["DJANGO_KIT_DIRECTORY"])


class DjangoContract(TokenCacheContract):
    alias = ""

    def make_cache(self, tmp_path: Path) -> TokenCache:
        caches[self.alias].clear()
        return DjangoTokenCache(self.alias, lock_ttl=5.0)

    def corrupt(self, cache: TokenCache, key: str) -> bool:
        assert isinstance(cache, DjangoTokenCache)
        caches[self.alias].set(cache.prefix + key, '{"format": "officernd-auth/token/1", "x":')
        return True


class TestRedisCache(DjangoContract):
    alias = "redis"
    lock_recovery = 12.0  # the lock's TTL (5 s) and a margin

    def raw_records(self, cache: TokenCache) -> bytes:
        import redis

        client = redis.Redis.from_url(os.environ["DJANGO_KIT_REDIS_URL"])
        try:
            return b"".join(k + (client.dump(k) or b"") for k in sorted(client.keys("*")))
        finally:
            client.close()


class TestFileBasedCache(DjangoContract):
    alias = "files"

    def raw_records(self, cache: TokenCache) -> bytes:
        return b"".join(p.read_bytes() for p in sorted((DIRECTORY / "files").rglob("*.djcache")))


class TestDatabaseCache(DjangoContract):
    alias = "database"
    lock_recovery = 12.0

    def raw_records(self, cache: TokenCache) -> bytes:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT cache_key, value FROM officernd_token_cache")
            return repr(cursor.fetchall()).encode()


def test_a_local_memory_cache_is_refused_with_the_reason() -> None:
    cache = DjangoTokenCache("locmem")
    with pytest.raises(ConfigurationError, match="lives in one process"):
        cache.get("k" * 64)
