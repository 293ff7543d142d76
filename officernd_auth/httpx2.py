"""officernd-auth for httpx2, sync and async (optional extra ``httpx2``; Python 3.11 and later).

httpx2 is the continuation of httpx under another name (it trusts the operating system's
certificate store). The same three names as :mod:`officernd_auth.httpx`, on httpx2's classes,
from the same implementation (``officernd_auth.httpx_adapter``):

- :class:`OfficeRNDAuth`: an ``httpx2.Auth`` for ``httpx2.get(url, auth=...)``,
  ``httpx2.Client(auth=...)`` and ``httpx2.AsyncClient(auth=...)``.
- :class:`OfficeRNDClient` / :class:`AsyncOfficeRNDClient`: an ``httpx2.Client`` /
  ``httpx2.AsyncClient`` for one organisation, with ``OfficeRNDSession``'s conveniences.

A program that uses only this module imports neither httpx nor requests.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import ClassVar

try:
    import anyio  # noqa: F401  (what the adapter needs beside httpx2)
    import httpx2
except ModuleNotFoundError as missing:  # the extra is not installed: say which to install
    if sys.version_info < (3, 11):  # httpx2's own floor: it cannot be installed here
        where = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
        raise ModuleNotFoundError(
            f"officernd_auth.httpx2 needs httpx2, which needs Python 3.11 or later: on {where} "
            "use officernd_auth.httpx (pip install 'officernd-auth[httpx]')",
            name="httpx2",
        ) from None
    raise ModuleNotFoundError(
        f"officernd_auth.httpx2 needs {missing.name}, which is not installed: "
        "pip install 'officernd-auth[httpx2]'",
        name=missing.name,
    ) from None

from .httpx_adapter.auth import AuthFlows
from .httpx_adapter.client import AsyncClient, SyncClient

__all__ = ["AsyncOfficeRNDClient", "OfficeRNDAuth", "OfficeRNDClient"]


class OfficeRNDAuth(AuthFlows, httpx2.Auth):
    __doc__ = AuthFlows.__doc__
    _lib: ClassVar[ModuleType] = httpx2


class OfficeRNDClient(SyncClient, httpx2.Client):
    __doc__ = SyncClient.__doc__
    _lib: ClassVar[ModuleType] = httpx2
    _auth_class: ClassVar[type[AuthFlows]] = OfficeRNDAuth
    _client_class = True  # the class whose base's _merge_url and send it calls


class AsyncOfficeRNDClient(AsyncClient, httpx2.AsyncClient):
    __doc__ = AsyncClient.__doc__
    _lib: ClassVar[ModuleType] = httpx2
    _auth_class: ClassVar[type[AuthFlows]] = OfficeRNDAuth
    _client_class = True
