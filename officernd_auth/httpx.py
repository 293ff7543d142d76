"""officernd-auth for httpx, sync and async (optional extra ``httpx``; ``import officernd_auth``
never imports httpx).

- :class:`OfficeRNDAuth`: an ``httpx.Auth`` for ``httpx.get(url, auth=...)``,
  ``httpx.Client(auth=...)`` and ``httpx.AsyncClient(auth=...)``.
- :class:`OfficeRNDClient` / :class:`AsyncOfficeRNDClient`: an ``httpx.Client`` /
  ``httpx.AsyncClient`` for one organisation, with ``OfficeRNDSession``'s conveniences.

All three share the requests front end's token lifecycle: the same provider, budget, caches and
host rules, so one token serves requests and httpx code in a process or a fleet.
"""

from __future__ import annotations

try:
    import anyio  # noqa: F401  (what the adapter needs beside httpx)
    import httpx  # noqa: F401
except ModuleNotFoundError as missing:  # the extra is not installed: say which to install
    raise ModuleNotFoundError(
        f"officernd_auth.httpx needs {missing.name}, which is not installed: "
        "pip install 'officernd-auth[httpx]'",
        name=missing.name,
    ) from None

from .httpx_adapter.auth import OfficeRNDAuth
from .httpx_adapter.client import AsyncOfficeRNDClient, OfficeRNDClient

__all__ = ["AsyncOfficeRNDClient", "OfficeRNDAuth", "OfficeRNDClient"]

for _name in __all__:
    globals()[_name].__module__ = __name__  # documented, pickled and shown under this name
del _name
