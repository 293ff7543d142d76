"""The emulator answers like OfficeRND to clients we did not write: what real v1 and v2 clients
send (lower-case headers, v1 names and filters, kebab-case v2 paths, the v1 endpoints they call)
and what they read back (1-based ranges, opaque cursors)."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable

import pytest
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDSession, RateLimitedError
from officernd_auth.core.scopes import required_scope
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, sample_records


def raw_http(fake: FakeOfficeRND, request: bytes) -> tuple[int, bytes]:
    """Send bytes exactly as written (requests would capitalise nothing, but we make sure)."""
    with socket.create_connection((fake.host, fake.port), timeout=5) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
    return int(head.split(b" ", 2)[1]), body


def token_for(fake: FakeOfficeRND, app: App, scope: str) -> str:
    return fake.issue_token(app, scope)


def api(fake: FakeOfficeRND, path: str, version: str = "v1", org: str = "acme") -> str:
    return f"{fake.api_url}/api/{version}/organizations/{org}/{path}"


def test_lower_case_header_names_work(fake: FakeOfficeRND, app: App) -> None:
    form = (
        f"grant_type=client_credentials&client_id={app.client_id}"
        f"&client_secret={app.client_secret}&scope=officernd.api.read"
    ).encode()
    status, body = raw_http(
        fake,
        b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded"
        + f"\r\ncontent-length: {len(form)}\r\nconnection: close\r\n\r\n".encode()
        + form,
    )
    assert status == 200
    token = json.loads(body)["access_token"]
    status, body = raw_http(
        fake,
        f"GET /api/v1/organizations/acme/members?$limit=1 HTTP/1.1\r\nhost: x\r\n"
        f"authorization: Bearer {token}\r\nconnection: close\r\n\r\n".encode(),
    )
    assert status == 200
    assert len(json.loads(body)) == 1


def test_v1_has_v1_names_and_shapes(fake: FakeOfficeRND, app: App) -> None:
    headers = {"Authorization": f"Bearer {token_for(fake, app, 'officernd.api.read')}"}
    offices = requests.get(api(fake, "offices"), headers=headers, timeout=5).json()
    teams = requests.get(api(fake, "teams"), headers=headers, params={"$limit": 100}, timeout=5)
    booking = requests.get(api(fake, "bookings"), headers=headers, timeout=5).json()[0]
    member = requests.get(api(fake, "members"), headers=headers, timeout=5).json()[0]
    assert len(offices) == 3
    assert len(teams.json()) == 40
    assert {"office", "team"} <= member.keys()
    assert "company" not in member
    assert {"office", "team", "resourceId"} <= booking.keys()
    assert set(booking["start"]) == {"dateTime"}
    assert booking["start"]["dateTime"].endswith("Z")
    # the same people in both versions
    assert member["_id"] == sample_records("v2")["members"][0]["_id"]
    assert member["team"] == sample_records("v2")["members"][0]["company"]
    # a v1 client filters by office, and the filter matches
    office = offices[0]["_id"]
    in_office = requests.get(
        api(fake, "bookings"), headers=headers, params={"office": office}, timeout=5
    ).json()
    assert in_office
    assert {b["office"] for b in in_office} == {office}
    assert requests.get(api(fake, "locations"), headers=headers, timeout=5).status_code == 404


def test_seed_sample_honours_org(clock: FakeClock) -> None:
    with FakeOfficeRND(org="globex", clock=clock) as fake:
        fake.seed_sample()
        app = fake.add_app(["flex.community.members.read"])
        headers = {"Authorization": f"Bearer {token_for(fake, app, app.scope)}"}
        assert requests.get(api(fake, "members", "v2", "globex"), headers=headers, timeout=5).ok
        gone = requests.get(api(fake, "members", "v2", "acme"), headers=headers, timeout=5)
        assert gone.status_code == 500


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_unknown_resources_are_404(fake: FakeOfficeRND, app: App, version: str) -> None:
    scope = "officernd.api.read" if version == "v1" else "flex.community.members.read"
    headers = {"Authorization": f"Bearer {token_for(fake, app, scope)}"}
    response = requests.get(api(fake, "bogus-resource", version), headers=headers, timeout=5)
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_v1_filter_on_a_field_it_does_not_have_is_400(fake: FakeOfficeRND, app: App) -> None:
    headers = {"Authorization": f"Bearer {token_for(fake, app, 'officernd.api.read')}"}
    response = requests.get(api(fake, "members"), headers=headers, params={"ofice": "x"}, timeout=5)
    assert response.status_code == 400
    assert "ofice" in response.json()["message"]


def test_v1_endpoints_real_clients_call(fake: FakeOfficeRND, app: App) -> None:
    read = {"Authorization": f"Bearer {token_for(fake, app, 'officernd.api.read')}"}
    write = {
        "Authorization": f"Bearer {token_for(fake, app, 'officernd.api.read officernd.api.write')}"
    }
    occurrences = requests.get(api(fake, "bookings/occurrences"), headers=read, timeout=5)
    assert occurrences.status_code == 200
    assert len(occurrences.json()) == 100
    booking = occurrences.json()[0]["_id"]
    assert (
        requests.post(api(fake, f"bookings/{booking}/cancel"), headers=read, timeout=5).status_code
        == 401
    )
    cancelled = requests.post(api(fake, f"bookings/{booking}/cancel"), headers=write, timeout=5)
    assert cancelled.status_code == 200
    assert cancelled.json()["canceled"] is True
    for path in ("bookings/checkout-summary", "bookings/checkout", "bookings/summary"):
        answer = requests.post(api(fake, path), headers=write, json={}, timeout=5)
        assert answer.status_code == 501
        assert "does not model" in answer.json()["message"]
    ids = [m["_id"] for m in sample_records("v1")["members"][:3]]
    deleted = requests.delete(api(fake, "members"), headers=write, json=ids, timeout=5)
    assert deleted.json() == {"deleted": 3}
    assert len(fake.records("members", "v1")) == 257


def test_kebab_case_v2_paths_take_camel_case_scopes(fake: FakeOfficeRND) -> None:
    app = fake.add_app(["flex.collaboration.ticketOptions.read"])
    fake.seed("ticket-options", [{"name": "Wi-Fi"}])
    headers = {"Authorization": f"Bearer {token_for(fake, app, app.scope)}"}
    response = requests.get(api(fake, "ticket-options", "v2"), headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Wi-Fi"
    assert required_scope("GET", "v2", "ticket-options") == "flex.collaboration.ticketOptions.read"


def test_v2_pages_count_from_one_with_opaque_cursors(fake: FakeOfficeRND, app: App) -> None:
    headers = {"Authorization": f"Bearer {token_for(fake, app, 'flex.community.members.read')}"}
    first = requests.get(api(fake, "members", "v2"), headers=headers, timeout=5).json()
    assert (first["rangeStart"], first["rangeEnd"]) == (1, 50)
    cursor = first["cursorNext"]
    assert "offset" not in base64.b64decode(cursor).decode()
    assert json.loads(base64.b64decode(cursor))["sort"] == "_id"
    second = requests.get(
        api(fake, "members", "v2"), headers=headers, params={"$cursorNext": cursor}, timeout=5
    ).json()
    assert (second["rangeStart"], second["rangeEnd"]) == (51, 100)


def test_the_bearer_string_is_public_on_both_entry_points(
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
    fake: FakeOfficeRND,
) -> None:
    session = make_session()
    assert session.access_token is None
    token = session.get_access_token()  # fetches
    assert token == session.access_token
    assert make_auth().get_access_token() == token  # the same credential shares it
    assert fake.token_request_count == 1


def test_rate_limited_error_names_the_shared_caches(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(token_budget=1)
    session.provider.fetch_token()
    with pytest.raises(RateLimitedError) as info:
        session.provider.fetch_token()
    assert "OFFICERND_TOKEN_CACHE" in str(info.value)
    assert "RedisTokenCache" in str(info.value)


def test_issue_token_is_a_real_token_request(fake: FakeOfficeRND, app: App) -> None:
    token = fake.issue_token(app, "officernd.api.read")
    assert fake.token_request_count == 1
    assert fake.token_requests[0].scope == "officernd.api.read"
    answer = requests.get(
        api(fake, "members"), headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == 200
    with pytest.raises(RuntimeError, match="invalid_scope") as info:
        fake.issue_token(app, "flex.billing.charges.read")
    assert app.client_secret not in str(info.value)
