"""The FastAPI application of the httpx guide (docs/httpx.rst), run with FastAPI's test client
against the emulator: one ``AsyncOfficeRNDClient`` made in the lifespan serves every request with
one token. Marked ``integration`` (FastAPI comes with the ``integrations`` extra)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.testing import FakeOfficeRND

PAGE = Path(__file__).resolve().parent.parent / "docs" / "httpx.rst"
pytestmark = pytest.mark.integration


def application_source() -> str:
    page = PAGE.read_text(encoding="utf-8")
    (block,) = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", page)
    return "\n".join(line[4:] for line in block.splitlines())


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOfficeRND]:
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        app = fake.add_app(["flex.community.members.read"])
        for name, value in {
            "OFFICERND_CLIENT_ID": app.client_id, "OFFICERND_CLIENT_SECRET": app.client_secret,
            "OFFICERND_ORG": "acme", "OFFICERND_TOKEN_URL": fake.token_url,
            "OFFICERND_API_URL": fake.api_url,
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("OFFICERND_TOKEN_CACHE", raising=False)  # the process's memory
        yield fake


# Starlette's test client now prefers the httpx2 package and warns when it runs on httpx.
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_guides_fastapi_application_shares_one_client_and_one_token(
    emulated: FakeOfficeRND,
) -> None:
    from fastapi.testclient import TestClient

    namespace: dict[str, Any] = {"__name__": "docs_httpx_fastapi"}
    exec(compile(application_source(), "docs/httpx.rst (FastAPI)", "exec"), namespace)  # noqa: S102
    with TestClient(namespace["app"]) as http:
        answers = [http.get("/members/count") for _ in range(3)]
    assert [a.json() for a in answers] == [{"members": 260}] * 3
    assert emulated.token_request_count == 1
