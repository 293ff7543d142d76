"""Django settings for tests/django_kit_cases.py (``DJANGO_SETTINGS_MODULE=django_settings``):
one alias per cache backend the conformance kit runs against, in the directory and on the Redis
server that tests/test_django_cache.py gives through the environment."""

import os

_DIRECTORY = os.environ["DJANGO_KIT_DIRECTORY"]

SECRET_KEY = "officernd-auth tests"
USE_TZ = True
INSTALLED_APPS: list[str] = []
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{_DIRECTORY}/django.sqlite3"}
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("DJANGO_KIT_REDIS_URL", "redis://127.0.0.1:9/0"),
    },
    "files": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": f"{_DIRECTORY}/files",
    },
    "database": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "officernd_token_cache",
    },
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
