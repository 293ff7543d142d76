"""The httpx the httpx front-end tests run on: httpx, or httpx2 with ``OFFICERND_TEST_HTTPX=httpx2``
(``nox -s httpx2``, in an environment without httpx). The same tests are the twins of both
libraries: they import the library and our front ends for it from here."""

from __future__ import annotations

import importlib
import os
from typing import Any

#: ``"httpx"`` or ``"httpx2"``.
NAME = os.environ.get("OFFICERND_TEST_HTTPX", "httpx")

httpx: Any = importlib.import_module(NAME)
_front = importlib.import_module(f"officernd_auth.{NAME}")
OfficeRNDAuth: Any = _front.OfficeRNDAuth
OfficeRNDClient: Any = _front.OfficeRNDClient
AsyncOfficeRNDClient: Any = _front.AsyncOfficeRNDClient
