"""Sphinx configuration. ``nox -s docs`` builds HTML with warnings as errors and every broken
reference failing (nitpicky), then runs every ``testcode`` example against the emulator."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import officernd_auth  # noqa: E402

project = "officernd-auth"
author = "the officernd-auth authors"
copyright = "2026, the officernd-auth authors"  # noqa: A001
release = version = officernd_auth.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "cli_reference",
]
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"officernd-auth {release}"
nitpicky = True

# Names of other projects' objects, which this site does not document (no intersphinx: the
# build must work without a network). Everything of ours must resolve.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(requests|requests_oauthlib|oauthlib|urllib3|redis|filelock|http|ssl|httpx|httpx2)(\..*)?",
    ),
    (r"py:.*", r"(typing|typing_extensions|collections\.abc|socketserver|threading)\..*"),
    (r"py:.*", r"(os|pathlib|contextlib|types|socket|argparse|email|json)\..*"),
    (r"py:class", r"(_?T|Self|NoneType|TracebackType|ModuleType|PreparedRequest|Response)"),
    (r"py:class", r"(Session|Path)"),
    (r"py:class", r"(BackendApplicationClient|OAuth2Session|AuthBase)"),
    # The httpx clients' shared mixin (private) and module-level type variables.
    (r"py:class", r"officernd_auth\.httpx_adapter\.client\._Organisation|officernd_auth\..*\._T"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# Every example runs against a fresh emulator, with the environment a user's would have:
# OFFICERND_TOKEN_URL / OFFICERND_API_URL point at the emulator instead of OfficeRND.
doctest_global_setup = (
    f"""
DOCS = {str(HERE)!r}
"""
    + """
import os
import officernd_auth
from officernd_auth.testing import FakeOfficeRND

officernd_auth.reset()
_fake = FakeOfficeRND().start()
_fake.seed_sample()
_app = _fake.add_app([
    "flex.community.members.read", "flex.community.members.create",
    "flex.community.companies.read", "flex.space.bookings.read", "flex.space.locations.read",
])
CLIENT_ID, CLIENT_SECRET = _app.client_id, _app.client_secret
API_URL = _fake.api_url
_saved_environment = dict(os.environ)
os.environ.update(
    OFFICERND_CLIENT_ID=CLIENT_ID, OFFICERND_CLIENT_SECRET=CLIENT_SECRET,
    OFFICERND_SCOPE="flex.community.members.read", OFFICERND_ORG="acme",
    OFFICERND_TOKEN_URL=_fake.token_url, OFFICERND_API_URL=_fake.api_url,
)
os.environ.pop("OFFICERND_TOKEN_CACHE", None)
"""
)
doctest_global_cleanup = """
os.environ.clear()
os.environ.update(_saved_environment)
_fake.stop()
officernd_auth.reset()
"""
doctest_test_doctest_blocks = ""
