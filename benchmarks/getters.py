"""What every measure is run on: the emulator, the credentials, the floor and the getters of
our rows and the peers', a Redis server, free ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

import requests

from officernd_auth.testing import FakeOfficeRND

from . import peers
from .common import CannedAdapter
from .peers import credentials as credentials
from .peers import emulator as emulator

OURS = ("officernd-auth (session)", "officernd-auth (auth)")


def cli_environment(fake: FakeOfficeRND, cache: str) -> dict[str, str]:
    """The environment that points the CLI at a new app on ``fake``, with a token cache."""
    app = fake.add_app([peers.SCOPE])
    return {
        **os.environ,
        "OFFICERND_CLIENT_ID": app.client_id,
        "OFFICERND_CLIENT_SECRET": app.client_secret,
        "OFFICERND_SCOPE": peers.SCOPE,
        "OFFICERND_TOKEN_URL": fake.token_url,
        "OFFICERND_API_URL": fake.api_url,
        "OFFICERND_ORG": "acme",
        "OFFICERND_TOKEN_CACHE": cache,
    }


# -- 1. per-request overhead -----------------------------------------------------------------


FLOOR = "floor (trivial auth)"
STATIC = "static session header (reference)"


class ConstantAuth(requests.auth.AuthBase):
    """The least an auth plugin can do: set a constant header. The honest floor."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + "0" * 40
        return request


def floor_getter() -> peers.Getter:
    session = requests.Session()
    session.trust_env = False
    session.auth = ConstantAuth()
    session.mount("https://", CannedAdapter())
    return session.get


def static_header_getter() -> peers.Getter:
    # requests merges session headers through runtime-checkable Protocol checks, so a static
    # header costs more than an auth object setting the same one: shown for reference only.
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = "Bearer " + "0" * 40
    session.mount("https://", CannedAdapter())
    return session.get


def start_redis(scratch: str) -> tuple[subprocess.Popen[bytes], int] | None:
    """A throwaway redis-server on loopback, or ``None`` when it is not installed."""
    redis_server = shutil.which("redis-server")
    if not redis_server:
        return None
    port = _free_port()
    server = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", scratch],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for_port(port)
    return server, port


#: A row name ending in this is the row's library over a real loopback socket to
#: :mod:`benchmarks.server` (whose port is in ``$BENCHMARK_SOCKET_PORT``), not the canned answer.
SOCKET = " [socket]"


def socket_url() -> str:
    """The URL the real-socket rows request."""
    return (
        f"http://127.0.0.1:{os.environ['BENCHMARK_SOCKET_PORT']}/api/v2/organizations/acme/members"
    )


def getter_for(
    name: str, fake: FakeOfficeRND, scratch: str, redis_port: int | None
) -> peers.Getter:
    """The floor, the static-header reference, a library of :data:`peers.LIBRARIES` or a cache
    row, by its table name (the timed table and the instruction counts build them the same way)."""
    if name.endswith(SOCKET):
        return _socket_getter(name.removesuffix(SOCKET), fake)
    if name.startswith(HTTPX_PREFIXES) or "httpx" in name:
        from . import httpx_rows

        return httpx_rows.getter(name, credentials(fake))
    if name == FLOOR:
        return floor_getter()
    if name == STATIC:
        return static_header_getter()
    if name in peers.LIBRARIES:
        return peers.LIBRARIES[name](credentials(fake), CannedAdapter())
    if name == FILE_CACHE:
        from officernd_auth.cache import FileTokenCache

        cache: Any = FileTokenCache(scratch)
    elif name == REDIS_CACHE and redis_port is not None:
        from officernd_auth.cache import RedisTokenCache

        cache = RedisTokenCache(f"redis://127.0.0.1:{redis_port}/0")
    else:
        raise ValueError(f"no getter called {name!r}")
    return peers.officernd_auth(credentials(fake), CannedAdapter(), token_cache=cache)


def _socket_getter(name: str, fake: FakeOfficeRND) -> peers.Getter:
    """``name``'s getter sending to the socket server (the token still comes from ``fake``)."""
    origin = f"127.0.0.1:{os.environ['BENCHMARK_SOCKET_PORT']}"
    if name == FLOOR:
        session = requests.Session()
        session.trust_env = False
        session.auth = ConstantAuth()
        return session.get
    c = credentials(fake)
    c = peers.Credentials(c.client_id, c.client_secret, c.token_url, origin)
    if name == OURS[0]:
        return peers.officernd_session(c, api_url=f"http://{origin}")
    return peers.LIBRARIES[name](c)


#: The rows of :mod:`benchmarks.httpx_rows` (also named by "httpx" in them).
HTTPX_PREFIXES = ("officernd-auth (OfficeRNDClient", "officernd-auth (AsyncOfficeRNDClient")

FILE_CACHE = "officernd-auth (auth, file cache)"
REDIS_CACHE = "officernd-auth (auth, Redis cache)"
CACHE_ROWS = (FILE_CACHE, REDIS_CACHE)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start on port {port}")


# -- chart and main --------------------------------------------------------------------------
