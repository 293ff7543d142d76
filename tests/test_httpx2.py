"""httpx2 beside httpx and requests in one process (the twins of the httpx front-end tests run
on httpx2 alone: ``nox -s httpx2``): the three libraries' front ends share one token through one
cache, and a missing extra says which to install."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from officernd_auth import OfficeRNDSession
from officernd_auth.testing import FakeOfficeRND

httpx = pytest.importorskip("httpx")
httpx2 = pytest.importorskip("httpx2")

SCOPE = "flex.community.members.read"
MEMBERS = "/api/v2/organizations/acme/members"


def test_requests_httpx_and_httpx2_front_ends_share_one_token(
    live: FakeOfficeRND, tmp_path: Path
) -> None:
    from officernd_auth.httpx import OfficeRNDAuth as HttpxAuth
    from officernd_auth.httpx2 import AsyncOfficeRNDClient, OfficeRNDAuth

    app = live.add_app([SCOPE])
    common = {"token_url": live.token_url, "api_url": live.api_url, "token_cache": str(tmp_path)}
    credentials = (app.client_id, app.client_secret, SCOPE)
    with OfficeRNDSession(*credentials, org="acme", **common) as session:
        assert session.get("members").status_code == 200
    assert httpx.get(live.api_url + MEMBERS, auth=HttpxAuth(*credentials, **common)).is_success
    assert httpx2.get(live.api_url + MEMBERS, auth=OfficeRNDAuth(*credentials, **common)).is_success

    async def main() -> int:
        async with AsyncOfficeRNDClient(*credentials, org="acme", **common) as client:
            return int((await client.get("members")).status_code)

    assert asyncio.run(main()) == 200
    assert live.token_request_count == 1  # one file cache: one token for the four of them


def test_the_httpx2_import_without_the_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['httpx2'] = None\n"
        "try:\n    import officernd_auth.httpx2\n"
        "except ModuleNotFoundError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'officernd-auth[httpx2]'" in done.stdout
