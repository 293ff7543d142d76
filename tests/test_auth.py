"""The 401 retry and host scoping, through both entry points, over loopback."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDSession
from officernd_auth.testing import FakeClock, FakeOfficeRND

MEMBERS = "/api/v2/organizations/acme/members"
WRITE = "flex.community.members.read flex.community.members.create"


@pytest.fixture
def foreign(clock: FakeClock) -> Iterator[FakeOfficeRND]:
    """Another server on another loopback address: a host that must never see the token."""
    with FakeOfficeRND(host="127.0.0.2", clock=clock) as server:
        yield server


def test_401_heals_with_one_new_token(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    assert session.get("members").status_code == 200
    fake.expire_tokens()
    response = session.get("members")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert fake.token_request_count == 2
    assert [r.status for r in fake.api_requests] == [200, 401, 200]


def test_401_resends_the_body(make_auth: Callable[..., OfficeRNDAuth], fake: FakeOfficeRND) -> None:
    auth = make_auth(scope=WRITE)
    url = fake.api_url + MEMBERS
    requests.get(url, auth=auth, timeout=5)
    fake.expire_tokens()
    response = requests.post(url, json={"name": "Grace"}, auth=auth, timeout=5)
    assert response.status_code == 201
    first, second = fake.api_requests[-2:]
    assert (first.status, second.status) == (401, 201)
    assert first.body == second.body == json.dumps({"name": "Grace"}).encode()


def test_401_rewinds_a_file_body(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(scope=WRITE)
    session.get("members")
    fake.expire_tokens()
    body = io.BytesIO(b'{"name": "Linus"}')
    response = session.post("members", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["name"] == "Linus"


def test_401_with_an_unrewindable_body_is_returned(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = make_session(scope=WRITE)
    session.get("members")
    fake.expire_tokens()
    response = session.post("members", data=iter([b'{"name": "x"}']))
    assert response.status_code == 401
    assert fake.token_request_count == 1
    assert "cannot be re-sent" in caplog.text


def test_second_401_is_returned_with_a_scope_hint(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = make_session(scope="flex.space.bookings.read")
    with caplog.at_level(logging.WARNING):
        response = session.get("members")
    assert response.status_code == 401
    assert len(response.history) == 1
    assert fake.token_request_count == 2
    assert len(fake.api_requests) == 2  # exactly one re-send: never a loop
    assert "probably lacks the scope" in caplog.text
    assert "flex.community.members.read" in caplog.text
    # The same token refused again: no token request is spent on a token known to be valid.
    again = session.get("members")
    assert again.status_code == 401
    assert again.history == []
    assert fake.token_request_count == 2
    assert session.get("bookings").status_code == 200  # the token still serves its scopes
    assert fake.token_request_count == 2
    fake.expire_tokens()  # a real revocation later is still healed
    assert session.get("bookings").status_code == 200
    assert fake.token_request_count == 3


def test_concurrent_401s_cause_one_renewal(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    session.get("members")
    fake.expire_tokens()
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def worker() -> None:
        barrier.wait()
        statuses.append(session.get("members").status_code)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 12
    assert fake.token_request_count == 2


def test_session_sends_no_token_to_another_host(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, foreign: FakeOfficeRND
) -> None:
    session = make_session()
    response = session.get(foreign.api_url + MEMBERS)
    assert response.status_code == 401
    assert foreign.api_requests[-1].has_token is False
    assert fake.token_request_count == 0  # no token was even needed
    assert session.get(fake.api_url + MEMBERS).status_code == 200  # absolute, own origin


def test_auth_sends_no_token_outside_allowed_hosts(
    make_auth: Callable[..., OfficeRNDAuth], fake: FakeOfficeRND, foreign: FakeOfficeRND
) -> None:
    auth = make_auth()
    requests.get(foreign.api_url + MEMBERS, auth=auth, timeout=5)
    assert foreign.api_requests[-1].has_token is False
    assert requests.get(fake.api_url + MEMBERS, auth=auth, timeout=5).status_code == 200


@pytest.mark.parametrize("kind", ["session", "auth"])
def test_no_token_after_a_cross_host_redirect(
    kind: str,
    make_session: Callable[..., OfficeRNDSession],
    make_auth: Callable[..., OfficeRNDAuth],
    fake: FakeOfficeRND,
    foreign: FakeOfficeRND,
) -> None:
    fake.add_redirect("/api/v2/organizations/acme/moved", foreign.api_url + MEMBERS)
    if kind == "session":
        response = make_session().get("moved")
    else:
        response = requests.get(
            fake.api_url + "/api/v2/organizations/acme/moved", auth=make_auth(), timeout=5
        )
    assert response.history[0].status_code == 302
    assert fake.api_requests[-1].has_token is True
    assert foreign.api_requests[-1].has_token is False
    assert len(foreign.api_requests) == 1  # its 401 was not retried with a token


def test_token_kept_on_a_same_origin_redirect(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.add_redirect("/api/v2/organizations/acme/old-members", fake.api_url + MEMBERS)
    response = make_session().get("old-members")
    assert response.status_code == 200
    assert fake.api_requests[-1].has_token is True


def test_allows_only_https_or_loopback_http() -> None:
    auth = OfficeRNDAuth("id", "secret", "flex.community.members.read")
    assert auth.allows("https://app.officernd.com/api/v2/organizations/a/members")
    assert auth.allows("https://APP.officernd.com:443/x")
    assert not auth.allows("http://app.officernd.com/api/v2/organizations/a/members")
    assert not auth.allows("https://app.officernd.com.evil.example/x")
    assert not auth.allows("https://evil.example/app.officernd.com")
    assert not auth.allows(None)
    for _ in range(2):  # the second round answers from the per-prefix memo
        assert not auth.allows("https://app.officernd.com@evil.example/x")
        assert not auth.allows("https://evil.example?x=//app.officernd.com/y")
        assert not auth.allows("https://evil.example#//app.officernd.com/y")
        assert not auth.allows("http://app.officernd.com")
        assert not auth.allows("https://app.officernd.com:8443/x")  # found by test_fuzz
        assert auth.allows("https://app.officernd.com")
        assert auth.allows("https://app.officernd.com?q=1")
    local = OfficeRNDAuth(
        "id", "secret", "flex.community.members.read", allowed_hosts=["127.0.0.1:8080"]
    )
    assert local.allows("http://127.0.0.1:8080/x")
    assert not local.allows("http://127.0.0.1:8081/x")


def test_https_to_http_redirect_drops_the_token() -> None:
    session = OfficeRNDSession("id", "secret", "flex.community.members.read", org="acme")
    original = requests.Request(
        "GET",
        "https://app.officernd.com/api/v2/organizations/acme/members",
        headers={"Authorization": "Bearer x"},
    ).prepare()
    redirected = original.copy()
    redirected.prepare_url("http://app.officernd.com/api/v2/organizations/acme/members", None)
    response = requests.Response()
    response.request = original
    session.rebuild_auth(redirected, response)
    assert "Authorization" not in redirected.headers


def test_auth_objects_compare_by_credential() -> None:
    one = OfficeRNDAuth("id", "secret", "flex.community.members.read")
    two = OfficeRNDAuth("id", "secret", ["flex.community.members.read"])
    other = OfficeRNDAuth("id", "other", "flex.community.members.read")
    assert one == two
    assert hash(one) == hash(two)
    assert one != other


def test_no_token_after_a_redirect_to_another_port_of_the_same_host(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, clock: FakeClock
) -> None:
    with FakeOfficeRND(clock=clock) as neighbour:  # same address, another port
        fake.add_redirect("/api/v2/organizations/acme/next-door", neighbour.api_url + MEMBERS)
        response = make_session().get("next-door")
        assert response.history[0].status_code == 302
        assert neighbour.api_requests[-1].has_token is False
        direct = make_session().get(neighbour.api_url + MEMBERS)
        assert direct.status_code == 401
        assert neighbour.api_requests[-1].has_token is False
