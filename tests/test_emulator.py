"""FakeOfficeRND itself, driven with plain requests over loopback."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
import requests

from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault, sample_records

UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized access", "error": "Unauthorized"}


def token(
    fake: FakeOfficeRND, app: App, scope: str | None = None, **form: str
) -> requests.Response:
    data = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "client_credentials",
    }
    if scope is not None:
        data["scope"] = scope
    data.update(form)
    return requests.post(fake.token_url, data=data, timeout=5)


def bearer(fake: FakeOfficeRND, app: App, scope: str) -> dict[str, str]:
    response = token(fake, app, scope)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def api(fake: FakeOfficeRND, path: str, version: str = "v2", org: str = "acme") -> str:
    return f"{fake.api_url}/api/{version}/organizations/{org}/{path}"


def test_starts_fast_on_loopback_port_zero() -> None:
    started = time.perf_counter()
    with FakeOfficeRND() as fake:
        app = fake.add_app(["officernd.api.read"])
        assert token(fake, app, "officernd.api.read").status_code == 200
        assert fake.host == "127.0.0.1"
        assert fake.port > 0
    assert time.perf_counter() - started < 1.0


def test_token_success_shape(fake: FakeOfficeRND, app: App) -> None:
    response = token(fake, app, "flex.community.members.read officernd.api.read")
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{40}", body["access_token"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert set(body["scope"].split()) == {"flex.community.members.read", "officernd.api.read"}
    record = fake.token_requests[-1]
    assert record.client_id == app.client_id
    assert record.auth_method == "body"
    assert "client_secret" not in record.form


def test_expires_in_is_configurable(clock: FakeClock) -> None:
    with FakeOfficeRND(expires_in=120, clock=clock) as fake:
        app = fake.add_app(["officernd.api.read"])
        assert token(fake, app, "officernd.api.read").json()["expires_in"] == 120


def test_http_basic_client_authentication(fake: FakeOfficeRND, app: App) -> None:
    response = requests.post(
        fake.token_url,
        data={"grant_type": "client_credentials", "scope": "officernd.api.read"},
        auth=(app.client_id, app.client_secret),
        timeout=5,
    )
    assert response.status_code == 200
    assert fake.token_requests[-1].auth_method == "basic"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "officernd.api.read flex.billing.charges.delete"}, 400, "invalid_scope"),
    ],
)
def test_token_errors(
    fake: FakeOfficeRND, app: App, change: dict[str, str], status: int, error: str
) -> None:
    form = {"scope": "officernd.api.read", **change}
    response = token(fake, app, **form)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_token_needs_a_form_body(fake: FakeOfficeRND, app: App) -> None:
    response = requests.post(
        fake.token_url,
        json={"client_id": app.client_id, "client_secret": app.client_secret},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_rate_limit_counts_failures_and_rolls(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    statuses = [token(fake, app, "officernd.api.read").status_code for _ in range(2)]
    statuses += [token(fake, app, "officernd.api.read", client_secret="x").status_code] * 1
    statuses += [token(fake, app, "officernd.api.read").status_code for _ in range(2)]
    assert statuses == [200, 200, 401, 200, 200]
    sixth = token(fake, app, "officernd.api.read")
    assert sixth.status_code == 429
    assert sixth.text == "Too many requests, please try again later"
    clock.advance(61)
    assert token(fake, app, "officernd.api.read").status_code == 200


def test_rate_limit_is_per_client_and_can_be_changed(clock: FakeClock) -> None:
    with FakeOfficeRND(clock=clock, rate_limit=2) as fake:
        one, two = fake.add_app(["officernd.api.read"]), fake.add_app(["officernd.api.read"])
        assert [token(fake, one, "officernd.api.read").status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert token(fake, two, "officernd.api.read").status_code == 200
    with FakeOfficeRND(clock=clock, rate_limit=None) as fake:
        app = fake.add_app(["officernd.api.read"])
        assert {token(fake, app, "officernd.api.read").status_code for _ in range(8)} == {200}


def test_fault_server_error_html(fake: FakeOfficeRND, app: App) -> None:
    fake.fail_next_token_requests(Fault.server_error(502), count=2)
    first, second, third = (token(fake, app, "officernd.api.read") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (502, 502, 200)
    assert first.headers["Content-Type"] == "text/html"
    assert "<html>" in first.text
    assert [r.fault for r in fake.token_requests] == ["server_error", "server_error", None]


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        (Fault.not_json(), lambda r: r.status_code == 200 and not r.text.startswith("{")),
        (Fault.no_access_token(), lambda r: "access_token" not in r.json()),
        (Fault.expires_in_string(), lambda r: r.json()["expires_in"] == "3599"),
        (Fault.expires_in(-5), lambda r: r.json()["expires_in"] == -5),
        (Fault.no_expires_in(), lambda r: "expires_in" not in r.json()),
        (Fault.no_scope(), lambda r: "scope" not in r.json() and "access_token" in r.json()),
        (Fault.rate_limited(7), lambda r: r.status_code == 429 and r.headers["Retry-After"] == "7"),
        (Fault.empty_body(500), lambda r: r.status_code == 500 and r.text == ""),
    ],
)
def test_token_faults(fake: FakeOfficeRND, app: App, fault: Fault, check: Any) -> None:
    fake.fail_next_token_requests(fault)
    assert check(token(fake, app, "officernd.api.read"))
    assert token(fake, app, "officernd.api.read").json()["expires_in"] == 3599


def test_fault_narrow_scope(fake: FakeOfficeRND, app: App) -> None:
    fake.fail_next_token_requests(Fault.narrow_scope())
    body = token(fake, app, "officernd.api.read flex.space.bookings.read").json()
    assert body["scope"] == "officernd.api.read"


def test_fault_slow(fake: FakeOfficeRND, app: App) -> None:
    fake.fail_next_token_requests(Fault.slow(2.0))
    with pytest.raises(requests.Timeout):
        requests.post(fake.token_url, data={}, timeout=0.1)
    started = time.perf_counter()
    assert token(fake, app, "officernd.api.read").status_code == 200
    assert time.perf_counter() - started < 1.0  # the fault was spent on the first request


def test_a_test_can_wait_for_a_token_request_in_flight(fake: FakeOfficeRND, app: App) -> None:
    import threading

    fake.fail_next_token_requests(Fault.slow(1.0))
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(token(fake, app, "officernd.api.read").status_code)
    )
    caller.start()
    fake.wait_for_token_requests(1)  # it reached the server, whose answer is still held
    assert answers == []
    caller.join()
    assert answers == [200]
    with pytest.raises(AssertionError, match="1 token request"):
        fake.wait_for_token_requests(2, timeout=0.05)


def test_fault_drop(fake: FakeOfficeRND, app: App) -> None:
    fake.fail_next_token_requests(Fault.drop())
    with pytest.raises(requests.ConnectionError):
        token(fake, app, "officernd.api.read")
    assert token(fake, app, "officernd.api.read").status_code == 200


def test_api_requires_valid_token_with_covering_scope(fake: FakeOfficeRND, app: App) -> None:
    url = api(fake, "members")
    assert requests.get(url, timeout=5).json() == UNAUTHORIZED
    bad = {"Authorization": "Bearer " + "0" * 40}
    assert requests.get(url, headers=bad, timeout=5).status_code == 401
    wrong_scope = bearer(fake, app, "flex.space.bookings.read")
    response = requests.get(url, headers=wrong_scope, timeout=5)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    read = bearer(fake, app, "flex.community.members.read")
    assert requests.get(url, headers=read, timeout=5).status_code == 200
    response = requests.post(url, headers=read, json={"name": "x"}, timeout=5)
    assert response.status_code == 401


def test_api_token_expiry_and_revocation(fake: FakeOfficeRND, app: App, clock: FakeClock) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    url = api(fake, "members")
    clock.advance(3598)
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    clock.advance(2)
    assert requests.get(url, headers=headers, timeout=5).status_code == 401
    headers = bearer(fake, app, "flex.community.members.read")
    assert fake.expire_tokens() == 1
    assert requests.get(url, headers=headers, timeout=5).json() == UNAUTHORIZED


def test_v1_scopes(fake: FakeOfficeRND, app: App) -> None:
    url = api(fake, "members", "v1")
    read = bearer(fake, app, "officernd.api.read")
    assert requests.get(url, headers=read, timeout=5).status_code == 200
    assert requests.post(url, headers=read, json={}, timeout=5).status_code == 401
    write = bearer(fake, app, "officernd.api.write")
    assert requests.post(url, headers=write, json={"name": "n"}, timeout=5).status_code == 201
    assert (
        requests.get(
            url, headers=bearer(fake, app, "flex.community.members.read"), timeout=5
        ).status_code
        == 401
    )


def test_crud_really_changes_data(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(
        fake,
        app,
        " ".join(f"flex.community.members.{a}" for a in ("read", "create", "update", "delete")),
    )
    url = api(fake, "members")
    created = requests.post(url, headers=headers, json={"name": "Nova"}, timeout=5)
    assert created.status_code == 201
    member_id = created.json()["_id"]
    assert requests.get(f"{url}/{member_id}", headers=headers, timeout=5).json()["name"] == "Nova"
    for method in ("PUT", "PATCH"):
        changed = requests.request(
            method, f"{url}/{member_id}", headers=headers, json={"name": method}, timeout=5
        )
        assert changed.json() == {"_id": member_id, "name": method}
    assert fake.records("members")[-1]["name"] == "PATCH"
    assert requests.delete(f"{url}/{member_id}", headers=headers, timeout=5).status_code == 204
    assert requests.get(f"{url}/{member_id}", headers=headers, timeout=5).status_code == 404
    assert len(fake.records("members")) == 260
    assert requests.post(url, headers=headers, data="not json", timeout=5).status_code == 400


def test_v2_pagination(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    url = api(fake, "members")
    seen: list[str] = []
    params: dict[str, Any] = {}
    pages = 0
    while True:
        body = requests.get(url, headers=headers, params=params, timeout=5).json()
        assert len(body["results"]) <= 50
        assert body["rangeStart"] == len(seen) + 1  # numbered from 1, as the live API
        seen += [m["_id"] for m in body["results"]]
        assert body["rangeEnd"] == len(seen)
        pages += 1
        if "cursorNext" not in body:
            break
        params = {"$cursorNext": body["cursorNext"]}
    assert pages == 6
    assert seen == [m["_id"] for m in sample_records()["members"]]
    back = requests.get(url, headers=headers, params=params, timeout=5).json()
    previous = requests.get(
        url, headers=headers, params={"$cursorPrev": back["cursorPrev"]}, timeout=5
    ).json()
    assert previous["rangeStart"] == 201


def test_v2_limits_and_unknown_parameters(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    url = api(fake, "members")

    def get(**params: Any) -> requests.Response:
        return requests.get(url, headers=headers, params=params, timeout=5)

    assert len(get(**{"$limit": 50}).json()["results"]) == 50
    assert get(**{"$limit": 51}).status_code == 400
    assert get(bogus="1").status_code == 400
    assert get(**{"$cursorNext": "!!"}).status_code == 400
    active = get(status="active", **{"$limit": 50}).json()["results"]
    assert active
    assert {m["status"] for m in active} == {"active"}
    small = fake.add_app(["flex.space.locations.read"])
    body = requests.get(
        api(fake, "locations"), headers=bearer(fake, small, "flex.space.locations.read"), timeout=5
    ).json()
    assert len(body["results"]) == 3
    assert "cursorNext" not in body
    assert "cursorPrev" not in body


def test_v1_pagination(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "officernd.api.read")
    url = api(fake, "members", "v1")
    first = requests.get(url, headers=headers, timeout=5)
    assert isinstance(first.json(), list)
    assert len(first.json()) == 100
    cursor = first.headers["rnd-cursor-next"]
    items = first.json()
    while cursor:
        page = requests.get(url, headers=headers, params={"$next": cursor}, timeout=5)
        items += page.json()
        cursor = page.headers.get("rnd-cursor-next", "")
    assert len(items) == 260
    assert requests.get(url, headers=headers, params={"$limit": 101}, timeout=5).status_code == 400


def test_wrong_org_is_500(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    response = requests.get(api(fake, "members", org="nope"), headers=headers, timeout=5)
    assert response.status_code == 500
    assert response.json()["message"] == "Organization not found"


def test_request_logs(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    requests.get(api(fake, "members"), headers=headers, params={"$limit": 2}, timeout=5)
    requests.get(api(fake, "members"), timeout=5)
    first, second = fake.api_requests
    assert (first.method, first.path, first.status, first.has_token) == (
        "GET",
        "/api/v2/organizations/acme/members",
        200,
        True,
    )
    assert first.query == {"$limit": ["2"]}
    assert (second.status, second.has_token) == (401, False)
    assert fake.token_request_count == 1
    assert repr(first).count(headers["Authorization"][7:]) == 0


def test_api_faults_and_redirects(fake: FakeOfficeRND, app: App) -> None:
    headers = bearer(fake, app, "flex.community.members.read")
    fake.fail_next_api_requests(Fault.respond(429, "slow down", "text/plain", {"Retry-After": "1"}))
    assert requests.get(api(fake, "members"), headers=headers, timeout=5).status_code == 429
    assert requests.get(api(fake, "members"), headers=headers, timeout=5).status_code == 200
    fake.add_redirect("/old", api(fake, "members"))
    response = requests.get(f"{fake.url}/old", headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.history[0].status_code == 302


def test_app_secret_not_in_repr(fake: FakeOfficeRND) -> None:
    app = fake.add_app(["officernd.api.read"], client_id="cid", client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(app)
    assert app.scope == "officernd.api.read"


def test_basic_auth_garbage_is_invalid_client(fake: FakeOfficeRND) -> None:
    response = requests.post(
        fake.token_url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"nobody:x").decode()},
        timeout=5,
    )
    assert response.status_code == 401
