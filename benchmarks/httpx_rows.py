"""The httpx rows' getters: our httpx front ends, a trivial ``httpx.Auth`` floor, and the peers
for httpx (tables 1d and 2b, made by :mod:`benchmarks.httpx_tables`). With
``OFFICERND_BENCH_HTTPX=httpx2`` the same rows run on httpx2 (``officernd_auth.httpx2``, a
trivial ``httpx2.Auth``), without the peers, which support httpx only.

A getter here is called like the requests rows' (``get(url)``, one request). An async getter runs
its request on one event loop kept for the getter; it also has ``batch(url, n)``, which makes n
requests one after the other inside one ``run_until_complete``, so that the instruction counts
(``calls`` requests minus none, see :mod:`benchmarks.instructions`) leave the loop's own start
and stop out, as they leave out the threads' making.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable
from typing import Any

from . import peers

#: The library the rows run on: ``httpx`` or ``httpx2`` (inherited by the counting processes).
LIBRARY = os.environ.get("OFFICERND_BENCH_HTTPX", "httpx")
httpx: Any = importlib.import_module(LIBRARY)

FLOOR_SYNC = f"floor (trivial {LIBRARY}.Auth)"
FLOOR_ASYNC = f"floor (trivial {LIBRARY}.Auth, async)"
OURS_SYNC = (f"officernd-auth ({LIBRARY} auth)", "officernd-auth (OfficeRNDClient)")
OURS_ASYNC = (f"officernd-auth ({LIBRARY} auth, async)", "officernd-auth (AsyncOfficeRNDClient)")
PEERS_SYNC: tuple[str, ...] = ()
PEERS_ASYNC: tuple[str, ...] = ()
if LIBRARY == "httpx":
    PEERS_SYNC = ("Authlib (httpx OAuth2Client)", "httpx-auth (OAuth2ClientCredentials)")
    PEERS_ASYNC = (
        "Authlib (httpx AsyncOAuth2Client)", "httpx-auth (OAuth2ClientCredentials, async)"
    )  # fmt: skip
SYNC_ROWS = (FLOOR_SYNC, *OURS_SYNC, *PEERS_SYNC)
ASYNC_ROWS = (FLOOR_ASYNC, *OURS_ASYNC, *PEERS_ASYNC)
#: Per-request overhead limit of our httpx rows against their floor (issue #27).
LIMIT = 1.03


class ConstantHttpxAuth(httpx.Auth):  # type: ignore[misc]  # the library of this run
    """The least an httpx auth can do: set a constant header. The floor."""

    def auth_flow(self, request: Any) -> Any:
        request.headers["Authorization"] = "Bearer " + "0" * 40
        yield request


_TOKEN = {"access_token": "0" * 40, "token_type": "Bearer", "expires_in": 3600,
          "scope": peers.SCOPE}  # fmt: skip


def _canned(request: Any) -> Any:
    if request.url.path.endswith("/oauth/token"):
        return httpx.Response(200, json=_TOKEN)  # the rows that send it through their client
    return httpx.Response(200, json={"results": []})


def canned_transport() -> Any:
    """Answers every request at once: a small JSON body, or a token for a token request (the
    network is taken out; the token is then cached, as it is with the emulator)."""
    return httpx.MockTransport(_canned)


class AsyncGetter:
    """``get(url)`` for an async client: one event loop, kept; ``batch`` runs n requests in
    one ``run_until_complete``."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(_made(make))

    def __call__(self, url: str) -> Any:
        return self.loop.run_until_complete(self.client.get(url))

    def batch(self, url: str, n: int) -> None:
        async def many() -> None:
            for _ in range(n):
                await self.client.get(url)

        self.loop.run_until_complete(many())


async def _made(make: Callable[[], Any]) -> Any:
    # A real async client's transport (httpcore) does its I/O through anyio, which keeps state
    # per task and loop once used; the canned transport never touches anyio. Without this a
    # floor would skip that state while a row whose token request ran on the loop (through
    # anyio) paid for it on every request: on Python 3.13 with httpx, 11,000 instructions a
    # request that no auth code spends (an auth of ours that only sets a constant header cost
    # that much more than the same floor). Every async row now starts from a loop that used it.
    import anyio

    await anyio.sleep(0)
    made = make()  # on the loop that will use it
    return await made if asyncio.iscoroutine(made) else made


def getter(name: str, c: peers.Credentials) -> Callable[[str], Any]:
    """The getter of an httpx row, answering every call with the canned transport (table 1d)."""
    return _getter(name, c, {"transport": canned_transport(), "trust_env": False}, None)


def _getter(
    name: str, c: peers.Credentials, settings: dict[str, Any], api_url: str | None
) -> Callable[[str], Any]:
    """``name``'s getter, its clients made with ``settings`` (httpx keywords); with ``api_url``,
    our rows send the token to that origin (the emulator's API, table 2b)."""
    from officernd_auth.cache import MemoryTokenCache

    asynchronous = name in ASYNC_ROWS
    client_class: Any = httpx.AsyncClient if asynchronous else httpx.Client
    ours: dict[str, Any] = {
        "token_url": c.token_url,
        "token_cache": MemoryTokenCache(),
        "token_budget": None,
    }
    if api_url is not None:
        ours["api_url"] = api_url
    auth: Any = None
    if name in (FLOOR_SYNC, FLOOR_ASYNC):
        auth = ConstantHttpxAuth()
    elif name in (OURS_SYNC[0], OURS_ASYNC[0]):
        front = importlib.import_module(f"officernd_auth.{LIBRARY}")
        auth = front.OfficeRNDAuth(c.client_id, c.client_secret, peers.SCOPE, **ours)
        if "transport" in settings:  # its token request over the same canned transport
            from officernd_auth.httpx_adapter.transport import HttpxTransport

            auth.provider.use_transport(HttpxTransport(settings, lib=httpx))
    elif name in (PEERS_SYNC + PEERS_ASYNC)[1::2]:  # httpx-auth's rows
        import httpx_auth

        auth = httpx_auth.OAuth2ClientCredentials(
            c.token_url, client_id=c.client_id, client_secret=c.client_secret, scope=peers.SCOPE
        )

    def make() -> Any:
        if auth is not None:
            return client_class(auth=auth, **settings)
        if name in (OURS_SYNC[1], OURS_ASYNC[1]):
            front = importlib.import_module(f"officernd_auth.{LIBRARY}")
            cls: Any = front.AsyncOfficeRNDClient if asynchronous else front.OfficeRNDClient
            # Its token request goes over its own settings (the canned transport answers it).
            return cls(c.client_id, c.client_secret, peers.SCOPE, org="acme", **ours, **settings)
        return _authlib(c, asynchronous, settings)

    if asynchronous:
        return AsyncGetter(make)
    get: Callable[[str], Any] = make().get
    return get


def _authlib(c: peers.Credentials, asynchronous: bool, settings: dict[str, Any]) -> Any:
    """Authlib's httpx client with a first token fetched by hand, as its documentation says
    (it re-fetches on expiry; it has no lazy first fetch)."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

    options = {"scope": peers.SCOPE, "token_endpoint": c.token_url,
               "grant_type": "client_credentials",
               "token_endpoint_auth_method": "client_secret_post", **settings}  # fmt: skip
    if not asynchronous:
        client = OAuth2Client(c.client_id, c.client_secret, **options)
        client.fetch_token()
        return client

    async def fetched() -> Any:
        client = AsyncOAuth2Client(c.client_id, c.client_secret, **options)
        await client.fetch_token()
        return client

    return fetched()


def herd_getter(name: str, c: peers.Credentials, api_url: str) -> Any:
    """``name``'s getter against the emulator's API (not the canned transport)."""
    settings = {"limits": httpx.Limits(max_connections=64), "trust_env": False}
    return _getter(name, c, settings, api_url)
