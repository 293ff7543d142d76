"""The documentation's Flask, Django and FastAPI webhook handlers (docs/webhooks.rst), run with
each framework's test client against deliveries signed as OfficeRND signs them, and one delivered
by the emulator. Marked ``integration``: the frameworks come with the ``integrations`` extra and
run in ``nox -s integrations``; the default suite tests the same ``verify_signature`` they call
(tests/test_webhooks.py)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from officernd_auth.core.webhooks import sign
from officernd_auth.testing import FakeOfficeRND

PAGE = Path(__file__).resolve().parent.parent / "docs" / "webhooks.rst"
SECRET = "whsec_frameworks"
pytestmark = pytest.mark.integration

BODY = json.dumps({"eventType": "member.created", "data": {"object": {"name": "Ada"}}}).encode()


def handler_source(framework: str) -> str:
    section = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    code = {"Flask": blocks[0], "Django": blocks[1], "FastAPI": blocks[2]}[framework]
    return "\n".join(line[4:] for line in code.splitlines())


def load(framework: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_{framework.lower()}"}
    exec(compile(handler_source(framework), f"docs/webhooks.rst ({framework})", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICERND_WEBHOOK_SECRET", SECRET)


# (the secret that signs, the body sent, the expected status); signed when the test runs, since
# a signature made at import would be stale by the time a long suite reaches the test.
CASES = [
    (SECRET, BODY, 200),
    ("wrong", BODY, 400),
    (SECRET, BODY + b" ", 400),
    (None, BODY, 400),
]


def signed(signer: str | None) -> dict[str, str]:
    return {"officernd-signature": sign(BODY, signer)} if signer else {}


IDS = ["valid", "wrong-secret", "changed-body", "unsigned"]


@pytest.mark.parametrize(("signature", "body", "status"), CASES, ids=IDS)
def test_flask(signature: str | None, body: bytes, status: int) -> None:
    pytest.importorskip("flask")
    client = load("Flask")["app"].test_client()
    answer = client.post("/officernd/webhook", data=body, headers=signed(signature))
    assert answer.status_code == status
    if status == 200:
        assert answer.get_json() == {"received": "member.created"}


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
@pytest.mark.parametrize(("signature", "body", "status"), CASES, ids=IDS)
def test_fastapi(signature: str | None, body: bytes, status: int) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    client = TestClient(load("FastAPI")["app"])
    answer = client.post("/officernd/webhook", content=body, headers=signed(signature))
    assert answer.status_code == status


@pytest.mark.parametrize(("signature", "body", "status"), CASES, ids=IDS)
def test_django(signature: str | None, body: bytes, status: int) -> None:
    pytest.importorskip("django")
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__)
        django.setup()
    from django.test import RequestFactory

    view = load("Django")["officernd_webhook"]
    extra = {"HTTP_OFFICERND_SIGNATURE": sign(BODY, signature)} if signature else {}
    request = RequestFactory().post(
        "/officernd/webhook", data=body, content_type="application/json", **extra
    )
    assert view(request).status_code == status


urlpatterns: list[Any] = []  # the Django settings above name this module as ROOT_URLCONF


def test_flask_handler_behind_a_real_server_receives_an_emulator_delivery(
    fake: FakeOfficeRND,
) -> None:
    """End to end: the emulator signs and POSTs; the documented Flask handler verifies it."""
    pytest.importorskip("flask")
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, load("Flask")["app"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/officernd/webhook"
        delivery = fake.send_webhook(url, "member.created", {"object": {}}, secret=SECRET)
        assert delivery.delivered
        assert delivery.attempts == 1
        rejected = fake.send_webhook(url, "member.created", {"object": {}}, secret="wrong")
        assert rejected.status == 400
    finally:
        server.shutdown()
