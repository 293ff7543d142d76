"""DjangoTokenCache passes the conformance kit on Django's Redis, file-based and database caches
and refuses the local-memory cache (tests/django_kit_cases.py, run here in a pytest process of
its own: Django's settings belong to the whole process). Marked ``integration``: Django comes
with the ``integrations`` extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis_server import REDIS_SERVER, RedisServer, free_port

pytestmark = pytest.mark.integration
HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_the_kit_passes_on_djangos_redis_file_and_database_caches(tmp_path: Path) -> None:
    pytest.importorskip("django")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", str(HERE / "django_kit_cases.py"), "-q",
             "-n", "0", "-p", "no:randomly", "-p", "no:cacheprovider", "-rs"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "django_settings",
                 "DJANGO_KIT_DIRECTORY": str(tmp_path), "DJANGO_KIT_REDIS_URL": server.url,
                 "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])},
            cwd=HERE.parent, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        server.stop()
    report = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    summary = done.stdout.strip().splitlines()[-1]
    # Every rule ran on the three backends but the budget's... which DjangoTokenCache keeps too.
    assert "25 passed" in summary, report
    assert "skipped" not in summary, report
