"""A session's 401 is healed once, by its auth object's response hook (the one 401 heal of the
requests adapter), with the history, cookies and settings of the call, and the user's own hooks
see the healed answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from officernd_auth import OfficeRNDSession
from officernd_auth.testing import App, FakeOfficeRND, Fault


def _revoked(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> OfficeRNDSession:
    session = make_session()
    assert session.get("members").status_code == 200
    fake.expire_tokens()
    return session


def test_session_heals_a_401_once(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = _revoked(make_session, fake)
    response = session.get("members", stream=True)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert (
        response.request.headers["Authorization"]
        != response.history[0].request.headers["Authorization"]
    )
    assert fake.token_request_count == 2


@pytest.mark.parametrize("where", ["session", "call"])
def test_a_users_raise_for_status_hook_sees_the_healed_answer(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, where: str
) -> None:
    session = _revoked(make_session, fake)
    statuses: list[int] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        statuses.append(response.status_code)
        response.raise_for_status()

    if where == "session":
        session.hooks["response"].append(hook)
        response = session.get("members")
    else:
        response = session.get("members", hooks={"response": [hook]})
    assert response.status_code == 200
    assert statuses == [200]  # the auth's hook ran first and healed the 401
    assert fake.token_request_count == 2


def test_prepared_requests_and_the_auth_object_elsewhere_still_heal(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = _revoked(make_session, fake)
    prepared = session.prepare_request(requests.Request("GET", session.url_for("members")))
    response = session.send(prepared, timeout=5)
    assert (response.status_code, [r.status_code for r in response.history]) == (200, [401])
    fake.expire_tokens()
    with requests.Session() as other:
        response = other.get(session.url_for("members"), auth=session.auth, timeout=5)
    assert (response.status_code, [r.status_code for r in response.history]) == (200, [401])
    assert fake.token_request_count == 3


def test_a_429_then_401_is_healed_too(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the token is revoked while the session waits
        waits.append(seconds)
        fake.expire_tokens()

    session = make_session(sleep=sleep)
    assert session.get("members").status_code == 200
    fake.fail_next_api_requests(Fault.rate_limited(retry_after=1))
    response = session.get("members")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert waits == [1.0]
    assert fake.token_request_count == 2


def test_positional_arguments_keep_requests_oauthlib_order(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(scope="flex.community.members.read flex.community.members.create")
    # request(method, url, data, headers, withhold_token, client_id, client_secret, files)
    response = session.request(
        "POST", "members", '{"name": "Ada"}', {"Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json()["name"] == "Ada"
    assert session.request("GET", "members", None, None, True).status_code == 401
    with pytest.raises(TypeError, match="multiple values for argument 'data'"):
        session.request("POST", "members", "{}", data="{}")  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes from 3 to 9 positional arguments"):
        session.request("GET", "members", *([None] * 7))  # type: ignore[arg-type]


def test_a_session_class_after_ours_in_the_mro_still_sees_every_call(
    fake: FakeOfficeRND, app: App
) -> None:
    seen: list[str] = []

    class Recording(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            seen.append(url)
            return super().request(method, url, *args, **kwargs)

    class Recorded(OfficeRNDSession, Recording):
        """A requests.Session subclass placed after ours: super() would reach it, so must we."""

    assert Recorded.requests_class is Recording
    assert OfficeRNDSession.requests_class is requests.Session
    session = Recorded(
        app.client_id, app.client_secret, "flex.community.members.read", org="acme",
        token_url=fake.token_url, api_url=fake.api_url, token_cache=None,
    )  # fmt: skip
    assert session.get("members", params={"$limit": 1}).status_code == 200
    assert seen == [fake.api_url + "/api/v2/organizations/acme/members"]
