"""officernd_auth.requests_adapter.session: OfficeRNDSession's paths, paging, timeouts, the API's
429, pickling (its OAuth2Session surface is in test_oauth2.py)."""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable

import pytest
import requests

from officernd_auth import ConfigurationError, OfficeRNDSession
from officernd_auth.testing import App, FakeOfficeRND, Fault, sample_records


def test_paths_resolve_inside_the_organisation(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    base = f"{fake.api_url}/api/v2/organizations/acme"
    assert session.url_for("members") == f"{base}/members"
    assert session.url_for("/members/abc") == f"{base}/members/abc"
    assert session.url_for("members?status=active") == f"{base}/members?status=active"
    assert session.url_for("https://example.com/x?y=1") == "https://example.com/x?y=1"
    v1 = make_session(api_version="v1", scope="officernd.api.read")
    assert v1.url_for("members") == f"{fake.api_url}/api/v1/organizations/acme/members"
    member = sample_records()["members"][0]
    assert session.get(f"members/{member['_id']}").json()["name"] == member["name"]


@pytest.mark.parametrize(
    "path",
    [
        "../other/members",
        "members/../../x",
        "%2e%2e/x",
        "members%2F..%2Fx",
        "//evil.example/x",
        "a\\b",
        "mailto:x",
    ],
)
def test_paths_that_escape_are_refused(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, path: str
) -> None:
    with pytest.raises(ValueError, match=r"organisation|neither"):
        make_session().get(path)
    assert fake.api_requests == []


def test_org_is_needed_only_for_short_paths(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(org=None)
    with pytest.raises(ConfigurationError, match="OFFICERND_ORG"):
        session.get("members")
    assert session.get(f"{fake.api_url}/api/v2/organizations/acme/members").status_code == 200
    with pytest.raises(ConfigurationError, match="slug"):
        make_session(org="acme/members")


def test_paginate_v2(make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND) -> None:
    members = list(make_session().paginate("members"))
    assert [m["_id"] for m in members] == [m["_id"] for m in sample_records()["members"]]
    pages = [r for r in fake.api_requests if r.path.endswith("/members")]
    assert len(pages) == 6
    assert pages[0].query == {"$limit": ["50"]}
    assert "$cursorNext" in pages[1].query
    active = list(make_session().paginate("members", {"status": "active"}))
    assert active
    assert {m["status"] for m in active} == {"active"}
    assert len(list(make_session(scope="flex.space.locations.read").paginate("locations"))) == 3


def test_paginate_v1(make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND) -> None:
    session = make_session(api_version="v1", scope="officernd.api.read")
    members = list(session.paginate("members"))
    assert len(members) == 260
    assert len(fake.api_requests) == 3
    assert fake.api_requests[1].query["$next"]
    assert len(list(session.paginate("members", page_size=10))) == 260


def test_paginate_raises_on_errors(make_session: Callable[..., OfficeRNDSession]) -> None:
    with pytest.raises(requests.HTTPError):
        list(make_session(org="nowhere").paginate("members"))


def test_default_timeout_applies(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(timeout=0.3)
    session.fetch_token()
    fake.fail_next_api_requests(Fault.slow(1.0))
    with pytest.raises(requests.Timeout):
        session.get("members")
    fake.fail_next_api_requests(Fault.slow(0.5))
    assert session.get("members", timeout=5).status_code == 200  # the caller's timeout wins


def test_api_429_on_idempotent_call_is_retried(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, sleeps: list[float]
) -> None:
    session = make_session(scope="flex.community.members.read flex.community.members.create")
    fake.fail_next_api_requests(Fault.respond(429, "{}", headers={"Retry-After": "3"}))
    assert session.get("members").status_code == 200
    assert sleeps == [3.0]
    fake.fail_next_api_requests(Fault.respond(429, "{}", headers={"Retry-After": "999"}), 5)
    assert session.get("members").status_code == 429  # bounded: 2 retries, then handed back
    assert sleeps == [3.0, 30.0, 30.0]
    fake.clear_faults()
    fake.fail_next_api_requests(Fault.respond(429, "{}"))
    assert session.post("members", json={"name": "x"}).status_code == 429  # not idempotent
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("api_url", "http://app.officernd.com"),
        ("token_url", "http://identity.officernd.com/oauth/token"),
        ("api_url", "ftp://127.0.0.1"),
        ("token_url", "identity.officernd.com/oauth/token"),
        ("api_url", "https://user:pw@app.officernd.com"),
    ],
)
def test_insecure_urls_are_refused(name: str, url: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        OfficeRNDSession("id", "secret", "flex.community.members.read", **{name: url})


def test_loopback_http_needs_no_environment_switch(
    make_session: Callable[..., OfficeRNDSession],
) -> None:
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    for host in ("http://localhost:1", "http://127.0.0.5:1", "http://[::1]:1"):
        make_session(api_url=host, token_url=host + "/oauth/token")
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_bad_arguments(make_session: Callable[..., OfficeRNDSession]) -> None:
    with pytest.raises(ConfigurationError, match="api_version"):
        make_session(api_version="v3")
    with pytest.raises(ConfigurationError, match="leeway"):
        make_session(leeway=-1)
    with pytest.raises(ConfigurationError, match="token_budget"):
        make_session(token_budget=0)


def test_repr_and_html(make_session: Callable[..., OfficeRNDSession], app: App) -> None:
    session = make_session()
    assert "token=none" in repr(session)
    session.get("members")
    text = repr(session)
    assert "org='acme'" in text
    assert "valid for 59 min" in text
    assert "token_requests=1" in text
    assert app.client_id not in text
    html = session._repr_html_()
    assert "valid for 59 min" in html
    assert app.client_secret not in html


def test_copy_and_pickle(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    session.get("members")
    for clone in (pickle.loads(pickle.dumps(session)), copy.copy(session), copy.deepcopy(session)):
        assert clone.get("members").status_code == 200
    assert fake.token_request_count == 1  # one process, one default cache: shared token


def _child(session: OfficeRNDSession) -> tuple[int, int]:
    response = session.get("members")
    return response.status_code, session.provider.token_requests


def test_pickled_session_works_in_another_process(fake: FakeOfficeRND, app: App) -> None:
    fake.clock = time.time  # the child process cannot share a FakeClock: use real time
    session = OfficeRNDSession(
        app.client_id,
        app.client_secret,
        "flex.community.members.read",
        org="acme",
        token_url=fake.token_url,
        api_url=fake.api_url,
    )
    assert session.get("members").status_code == 200
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        status, child_requests = pool.apply(_child, (session,))
    assert status == 200
    assert child_requests == 2  # the child rebuilt its own cache: it fetched its own token
    assert fake.token_request_count == 2


def test_a_provider_outlives_the_session_it_came_from(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    import gc

    provider = make_session().provider  # the session itself is dropped at once
    gc.collect()
    assert provider.fetch_token().access_token
    assert fake.token_request_count == 1
