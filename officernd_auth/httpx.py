"""officernd-auth for httpx, sync and async (optional extra ``httpx``; ``import officernd_auth``
never imports httpx).

- :class:`OfficeRNDAuth`: an ``httpx.Auth`` for ``httpx.get(url, auth=...)``,
  ``httpx.Client(auth=...)`` and ``httpx.AsyncClient(auth=...)``.
- :class:`OfficeRNDClient` / :class:`AsyncOfficeRNDClient`: an ``httpx.Client`` /
  ``httpx.AsyncClient`` for one organisation, with ``OfficeRNDSession``'s conveniences.

All three share the requests front end's token lifecycle: the same provider, budget, caches and
host rules, so one token serves requests and httpx code in a process or a fleet. For httpx2, the
same three names come from :mod:`officernd_auth.httpx2`; both are one implementation
(``officernd_auth.httpx_adapter``) on each library's classes.
"""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar

try:
    import anyio  # noqa: F401  (what the adapter needs beside httpx)
    import httpx
except ModuleNotFoundError as missing:  # the extra is not installed: say which to install
    raise ModuleNotFoundError(
        f"officernd_auth.httpx needs {missing.name}, which is not installed: "
        "pip install 'officernd-auth[httpx]'",
        name=missing.name,
    ) from None

from .httpx_adapter.auth import AuthFlows
from .httpx_adapter.client import AsyncClient, SyncClient

__all__ = ["AsyncOfficeRNDClient", "OfficeRNDAuth", "OfficeRNDClient"]


class OfficeRNDAuth(AuthFlows, httpx.Auth):
    __doc__ = AuthFlows.__doc__
    _lib: ClassVar[ModuleType] = httpx


class OfficeRNDClient(SyncClient, httpx.Client):
    __doc__ = SyncClient.__doc__
    _lib: ClassVar[ModuleType] = httpx
    _auth_class: ClassVar[type[AuthFlows]] = OfficeRNDAuth
    _client_class = True  # the class whose base's _merge_url and send it calls


class AsyncOfficeRNDClient(AsyncClient, httpx.AsyncClient):
    __doc__ = AsyncClient.__doc__
    _lib: ClassVar[ModuleType] = httpx
    _auth_class: ClassVar[type[AuthFlows]] = OfficeRNDAuth
    _client_class = True
