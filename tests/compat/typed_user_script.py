"""A user's script, type-checked with ``mypy --strict`` by tests/compat/test_typing.py."""

from __future__ import annotations

import asyncio

import httpx
import requests

from officernd_auth import (
    OfficeRNDAuth,
    OfficeRNDAuthError,
    OfficeRNDSession,
    RateLimitedError,
    Token,
    TokenProvider,
)
from officernd_auth.cache import BaseTokenCache, FileTokenCache
from officernd_auth.httpx import AsyncOfficeRNDClient, OfficeRNDClient
from officernd_auth.httpx import OfficeRNDAuth as HttpxAuth


class DictCache(BaseTokenCache):
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}

    def get(self, key: str) -> Token | None:
        return self.tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)


async def fetch_async(auth: HttpxAuth) -> int:
    async with httpx.AsyncClient(auth=auth) as client:
        answer: httpx.Response = await client.get("https://app.officernd.com/")
    return answer.status_code


async def members_async() -> list[str]:
    async with AsyncOfficeRNDClient(org="acme", timeout=(5.0, 30.0)) as client:
        return [str(member["name"]) async for member in client.paginate("members")]


def main() -> int:
    provider = TokenProvider("id", "secret", "flex.community.members.read", leeway=30.0)
    session = OfficeRNDSession(
        provider=provider, org="acme", timeout=(5.0, 30.0), max_rate_limit_retries=1
    )
    auth = OfficeRNDAuth(
        "id", "secret", ["flex.community.members.read"], token_cache=DictCache(), verify=True
    )
    cached = OfficeRNDSession(token_cache=FileTokenCache(), token_budget=None, org="acme")
    try:
        names: list[str] = [str(m["name"]) for m in session.paginate("members")]
        response: requests.Response = requests.get(
            "https://app.officernd.com/", auth=auth, timeout=10
        )
        bearer: str = auth.get_access_token()
    except RateLimitedError as exc:
        wait: float | None = exc.retry_after
        return 0 if wait is None else int(wait)
    except OfficeRNDAuthError as exc:
        return len(exc.message)
    with httpx.Client(auth=HttpxAuth(provider=provider)) as client:
        status: int = client.get("https://app.officernd.com/").status_code
    status += asyncio.run(fetch_async(HttpxAuth("id", "secret", "flex.community.members.read")))
    with OfficeRNDClient(provider=provider, org="acme") as org_client:
        names += [str(m["name"]) for m in org_client.paginate("members", page_size=10)]
        status += org_client.get("members").status_code
    names += asyncio.run(members_async())
    return len(names) + response.status_code + len(bearer) + int(cached.authorized) + status
