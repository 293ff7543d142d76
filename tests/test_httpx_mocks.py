"""Users' tests that mock httpx with pytest-httpx: its mock sees our token request too, for the
clients and the bare auth, sync and async (``-m integration``: pytest-httpx pins one httpx minor
version, so it is in the integrations extra, not the test extra)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from http_library import NAME, AsyncOfficeRNDClient, OfficeRNDAuth, OfficeRNDClient, httpx

from officernd_auth.cache import MemoryTokenCache

#: The pytest-httpx of each library: pytest-httpx, and httpx2-pytest (module pytest_httpx2).
PLUGIN, FIXTURE = {
    "httpx": ("pytest_httpx", "httpx_mock"),
    "httpx2": ("pytest_httpx2", "httpx2_mock"),
}[NAME]
pytest.importorskip(PLUGIN)

pytestmark = pytest.mark.integration

SCOPE = "flex.community.members.read"
TOKEN_URL = "https://identity.officernd.com/oauth/token"
MEMBERS = "https://app.officernd.com/api/v2/organizations/acme/members"
ANSWER = {"access_token": "b" * 40, "token_type": "Bearer", "expires_in": 3600, "scope": SCOPE}


@pytest.fixture
def httpx_mock(request: pytest.FixtureRequest) -> Any:
    """The library's mock fixture, as a user's suite has it."""
    return request.getfixturevalue(FIXTURE)


def test_pytest_httpx_answers_the_token_request(httpx_mock: Any) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json=ANSWER, is_reusable=True)
    api = re.compile(re.escape(MEMBERS) + r"(\?.*)?")
    httpx_mock.add_response(method="GET", url=api, json={"results": [{"_id": "m1"}]},
                            is_reusable=True)  # fmt: skip
    with OfficeRNDClient("id", "secret", SCOPE, org="acme", token_cache=MemoryTokenCache()) as c:
        assert [m["_id"] for m in c.paginate("members")] == ["m1"]

    async def main() -> int:
        async with AsyncOfficeRNDClient(
            "id2", "secret", SCOPE, org="acme", token_cache=MemoryTokenCache()
        ) as client:
            return (await client.get("members")).status_code

    assert asyncio.run(main()) == 200
    auth = OfficeRNDAuth("id3", "secret", SCOPE, token_cache=MemoryTokenCache())
    assert httpx.get(MEMBERS, auth=auth).status_code == 200
    token_requests = httpx_mock.get_requests(method="POST", url=TOKEN_URL)
    assert len(token_requests) == 3
    api_calls = httpx_mock.get_requests(method="GET", url=api)
    assert {r.headers["Authorization"] for r in api_calls} == {"Bearer " + "b" * 40}
