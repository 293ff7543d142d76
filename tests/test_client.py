"""officernd_auth.core.client: the TokenClient that turns settings into token requests over
an adapter's Sender and their answers into tokens or typed errors (the exchange's data is in
test_exchange.py; its herds and faults are suites of their own)."""

from __future__ import annotations

import pytest

from officernd_auth import TokenEndpointError
from officernd_auth.core.client import TokenClient
from officernd_auth.core.exchange import Sender, TokenRequest, TransportError
from officernd_auth.testing import App, FakeOfficeRND

URL = "https://identity.officernd.com/oauth/token"
SECRET = "s3cr3t/+value"
SCOPES = ("flex.community.members.read",)


def test_a_client_without_an_adapter_says_what_to_do() -> None:
    from officernd_auth import ConfigurationError

    with pytest.raises(ConfigurationError, match="no HTTP adapter"):
        TokenClient(URL, "id", SECRET).fetch_token(SCOPES, 0.0)


class _Refusing(Sender):
    def send(self, request: TokenRequest, overrides: object) -> object:  # type: ignore[override]
        raise TransportError("connect", "connection refused (ConnectionRefusedError)")


def test_an_adapter_failure_becomes_a_retryable_error_without_context() -> None:
    client = TokenClient(URL, "id", SECRET, transport=_Refusing())
    with pytest.raises(TokenEndpointError, match="could not reach the token endpoint") as caught:
        client.fetch_token(SCOPES, 0.0)
    assert caught.value.retryable
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_the_body_is_oauthlibs_client_credentials_form() -> None:
    from urllib.parse import parse_qs

    body = parse_qs(TokenClient(URL, "id", SECRET).build_body(("a.read", "b.read")))
    assert body == {
        "grant_type": ["client_credentials"], "client_id": ["id"],
        "client_secret": [SECRET], "scope": ["a.read b.read"],
    }  # fmt: skip


def test_a_client_over_an_adapter_brings_back_a_token(fake: FakeOfficeRND, app: App) -> None:
    from officernd_auth.requests_adapter.transport import PlainTransport

    client = TokenClient(
        fake.token_url, app.client_id, app.client_secret, transport=PlainTransport()
    )
    token = client.fetch_token(SCOPES, fake.clock())
    assert token.access_token in fake.issued_tokens()
    assert token.scopes == frozenset(SCOPES)
    assert fake.token_requests[-1].form["client_id"] == app.client_id
