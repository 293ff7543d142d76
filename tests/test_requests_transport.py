"""officernd_auth.requests_adapter.transport: token requests over requests, through the user's
session (its adapters, and requests-oauthlib's compliance hooks) or over one shared transport per
TLS and proxy settings. Against the emulator on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.requests_adapter.transport import PlainTransport
from officernd_auth.testing import App, FakeOfficeRND

SCOPE = "flex.community.members.read"


class CountingAdapter(HTTPAdapter):
    """A user's adapter: it sees every request its session sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(f"{request.method} {request.path_url}")
        return super().send(request, **kwargs)


def test_one_transport_per_settings_holding_nothing_but_them() -> None:
    first = PlainTransport.for_settings(True, None, {"https": "http://proxy.example:3128"})
    assert first is PlainTransport.for_settings(True, None, {"https": "http://proxy.example:3128"})
    assert first is not PlainTransport.for_settings(False, None, None)
    assert first.proxies == {"https": "http://proxy.example:3128"}
    listed = PlainTransport.for_settings(True, ["cert.pem", "key.pem"], None)  # type: ignore[arg-type]
    assert listed.cert == ["cert.pem", "key.pem"]  # cannot be a key: its own object


def test_an_auth_given_a_session_sends_its_token_requests_through_it(
    fake: FakeOfficeRND, app: App
) -> None:
    mine = requests.Session()
    adapter = CountingAdapter()
    mine.mount("http://", adapter)
    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE, session=mine,
        token_url=fake.token_url, api_url=fake.api_url,
    )  # fmt: skip
    response = mine.get(f"{fake.api_url}/api/v2/organizations/acme/members", auth=auth)
    assert response.status_code == 200
    assert adapter.sent == ["POST /oauth/token", "GET /api/v2/organizations/acme/members"]


def test_the_sessions_compliance_hooks_see_the_token_request_and_answer(
    fake: FakeOfficeRND, app: App
) -> None:
    seen: list[str] = []

    def on_request(url: str, headers: dict[str, str], body: str) -> tuple[str, Any, str]:
        seen.append("request")
        return url, headers, body + "&audience=blue"

    def on_response(response: requests.Response) -> requests.Response:
        seen.append(f"response {response.status_code}")
        return response

    with OfficeRNDSession(
        app.client_id, app.client_secret, SCOPE, org="acme",
        token_url=fake.token_url, api_url=fake.api_url,
    ) as session:  # fmt: skip
        session.register_compliance_hook("access_token_request", on_request)
        session.register_compliance_hook("access_token_response", on_response)
        assert session.get("members").status_code == 200
    assert seen == ["request", "response 200"]
    assert fake.token_requests[-1].form.get("audience") == "blue"  # what the hook changed
