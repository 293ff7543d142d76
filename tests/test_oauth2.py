"""officernd_auth.requests_adapter.oauth2: requests-oauthlib's OAuth2Session surface kept for
client credentials (``token`` as a dict, ``fetch_token()``, ``refresh_token()``, assigning a
token), seen through OfficeRNDSession. requests-oauthlib's own cases run in
tests/compat/test_oauth2session_cases.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from officernd_auth import ConfigurationError, OfficeRNDSession
from officernd_auth.testing import App, FakeOfficeRND


def test_is_a_requests_and_oauth2_session(make_session: Callable[..., OfficeRNDSession]) -> None:
    session = make_session()
    assert isinstance(session, OAuth2Session)
    assert isinstance(session, requests.Session)
    assert isinstance(session.oauth_client, BackendApplicationClient)
    assert session.client_id == session.provider.client_id
    assert session.scope == ["flex.community.members.read", "flex.space.bookings.read"]


def test_oauth2session_token_surface(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, app: App
) -> None:
    session = make_session()
    assert session.token == {}
    assert session.authorized is False
    assert session.access_token is None
    token = session.fetch_token()
    assert fake.token_request_count == 1
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3599
    assert session.token["access_token"] == token["access_token"] == session.access_token
    assert session.authorized is True
    session.fetch_token()  # needs no arguments, always fetches
    assert fake.token_request_count == 2
    session.refresh_token()  # no refresh token in client credentials: a new token
    assert fake.token_request_count == 3
    with pytest.raises(ConfigurationError):
        session.fetch_token("https://identity.officernd.com/oauth/token")


def test_assigning_a_token_seeds_the_cache(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    donor = make_session()
    known = donor.fetch_token()
    session = make_session(token_cache=None, scope="flex.community.members.read")
    session.token = known
    assert session.get("members").status_code == 200
    assert fake.token_request_count == 1
