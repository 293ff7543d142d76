"""Our users' tests with the mocking and caching libraries they already use: ``responses``,
``requests-mock`` (fixture and an adapter mounted on the session) and ``requests-cache``
(``CachedSession`` with ``OfficeRNDAuth``, and ``install_cache()``). Run in random order by
pytest-randomly; each passes alone, after the others, and repeated (the plugin's isolation)."""

from __future__ import annotations

import pytest
import requests

from officernd_auth import InvalidClientError, OfficeRNDAuth, OfficeRNDSession
from officernd_auth.testing import App, FakeOfficeRND

responses = pytest.importorskip("responses")
requests_mock = pytest.importorskip("requests_mock")
requests_cache = pytest.importorskip("requests_cache")

TOKEN_URL = "https://identity.officernd.com/oauth/token"
MEMBERS = "https://app.officernd.com/api/v2/organizations/acme/members"
SCOPE = "flex.community.members.read"


def token_answer(token: str) -> dict[str, object]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": 3599, "scope": SCOPE}


# -- responses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["tok-1", "tok-2", "tok-3"])
@responses.activate
def test_responses_sees_each_tests_own_token(token: str) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_answer(token))
    responses.add(responses.GET, MEMBERS, json={"results": []})
    session = OfficeRNDSession("my-id", "my-secret", SCOPE, org="acme")
    assert session.get("members").status_code == 200
    assert responses.calls[0].request.url == TOKEN_URL
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("case", range(8))  # more than the budget of 5 a minute
@responses.activate
def test_responses_bad_secret_cases_never_hit_the_budget(case: int) -> None:
    responses.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(InvalidClientError):
        OfficeRNDSession("my-id", f"wrong-{case % 2}", SCOPE, org="acme", max_token_retries=0).get(
            "members"
        )


def test_requests_mock_context_reports_the_token_post() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.add(responses.POST, TOKEN_URL, json=token_answer("tok-ctx"))
        mocked.add(responses.GET, MEMBERS, json={"results": []})
        OfficeRNDSession("my-id", "my-secret", SCOPE, org="acme").get("members")


# -- requests-mock ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["rm-1", "rm-2"])
def test_requests_mock_fixture(requests_mock: requests_mock.Mocker, token: str) -> None:
    requests_mock.post(TOKEN_URL, json=token_answer(token))
    requests_mock.get(MEMBERS, json={"results": []})
    auth = OfficeRNDAuth("my-id", "my-secret", SCOPE)
    assert requests.get(MEMBERS, auth=auth, timeout=5).ok
    assert requests_mock.request_history[-1].headers["Authorization"] == f"Bearer {token}"


def test_requests_mock_adapter_mounted_on_the_session_sees_the_token_request() -> None:
    adapter = requests_mock.Adapter()
    adapter.register_uri("POST", TOKEN_URL, json=token_answer("adapter-token"))
    adapter.register_uri("GET", MEMBERS, json={"results": []})
    session = OfficeRNDSession("my-id", "my-secret", SCOPE, org="acme")
    session.mount("https://", adapter)
    assert session.get("members").ok
    assert [r.method for r in adapter.request_history] == ["POST", "GET"]
    assert adapter.request_history[1].headers["Authorization"] == "Bearer adapter-token"


# -- requests-cache -----------------------------------------------------------------------------


def test_cached_session_with_officernd_auth(
    officernd_fake: FakeOfficeRND,
) -> None:
    app: App = officernd_fake.add_app([SCOPE])
    cached = requests_cache.CachedSession(backend="memory")
    cached.auth = OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE,
        token_url=officernd_fake.token_url, api_url=officernd_fake.api_url,
    )  # fmt: skip
    url = officernd_fake.api_url + "/api/v2/organizations/acme/members"
    first = cached.get(url, timeout=5)
    second = cached.get(url, timeout=5)
    assert first.status_code == second.status_code == 200
    assert second.from_cache
    assert officernd_fake.token_request_count == 1
    assert len(officernd_fake.api_requests) == 1


def test_install_cache_does_not_break_the_session(officernd_fake: FakeOfficeRND) -> None:
    app: App = officernd_fake.add_app([SCOPE])
    requests_cache.install_cache(backend="memory")
    try:
        session = OfficeRNDSession(
            app.client_id, app.client_secret, SCOPE, org="acme",
            token_url=officernd_fake.token_url, api_url=officernd_fake.api_url,
        )  # fmt: skip
        assert session.get("members").status_code == 200
        assert session.get("members").status_code == 200
        assert len(list(session.paginate("members"))) == 260
    finally:
        requests_cache.uninstall_cache()
