"""Hardening, third round (#39), the httpx items, fixed on the sans-I/O adapter: a copied or
pickled auth keeps its TLS settings, per-host proxies stay per host, the shared token client
keeps no cookie, a foreign 401 after a redirect costs no token request, and an unreadable CA
file is a configuration error."""

from __future__ import annotations

import copy
import pickle
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from http_library import OfficeRNDAuth, httpx

from officernd_auth import ConfigurationError, TokenEndpointError
from officernd_auth.cache import MemoryTokenCache
from officernd_auth.core.exchange import TokenRequest
from officernd_auth.httpx_adapter.transport import HttpxTransport, mount_pattern
from officernd_auth.testing import App, FakeOfficeRND

SCOPE = "flex.community.members.read"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_fake(authority: trustme.CA) -> Iterator[FakeOfficeRND]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with FakeOfficeRND(ssl_context=context) as server:
        yield server


def _auth(fake: FakeOfficeRND, app: App, **options: object) -> OfficeRNDAuth:
    return OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url,
        token_cache=MemoryTokenCache(), api_url=fake.api_url, **options,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_copied_auth_keeps_its_pinned_ca(
    tls_fake: FakeOfficeRND, authority: trustme.CA, tmp_path: Path, how: str
) -> None:
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    app = tls_fake.add_app([SCOPE])
    auth = _auth(tls_fake, app, verify=str(ca))
    twin = pickle.loads(pickle.dumps(auth)) if how == "pickle" else copy.deepcopy(auth)
    assert twin.provider.get_token().access_token  # trusts the pinned CA, as the original
    # ... and nothing else: the environment's store does not know this CA.
    unpinned = _auth(tls_fake, tls_fake.add_app([SCOPE]), max_token_retries=0)
    with pytest.raises(TokenEndpointError, match="could not reach"):
        unpinned.provider.get_token()


def test_requests_style_proxy_keys_become_httpx_mount_patterns() -> None:
    assert mount_pattern("https") == "https://"
    assert mount_pattern("all") == "all://"
    assert mount_pattern("http://other.example") == "http://other.example"
    assert mount_pattern("all://other.example:8080") == "all://other.example:8080"
    for key in ("no_proxy", "ftp", "http://host/path", "socks://x"):
        with pytest.raises(ConfigurationError, match="no httpx equivalent"):
            mount_pattern(key)


def test_a_per_host_proxy_carries_only_that_host(fake: FakeOfficeRND, app: App) -> None:
    # A proxy that would refuse everything (nothing listens on port 9), for another host only:
    # the token request to the emulator goes direct, as requests would send it.
    auth = _auth(fake, app, proxies={"http://other.example": "http://127.0.0.1:9"})
    assert auth.provider.get_token().access_token
    assert fake.token_request_count == 1


def test_the_shared_token_client_keeps_no_cookie() -> None:
    seen: list[str | None] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Cookie"))
        return httpx.Response(200, json={}, headers={"Set-Cookie": "tenant=first; Path=/"})

    transport = HttpxTransport({"transport": httpx.MockTransport(endpoint)}, lib=httpx)
    url = "https://identity.example/oauth/token"
    for tenant in ("first", "second"):
        request = TokenRequest(url, {}, f"client_id={tenant}", 5.0, 5.0)
        reply = transport.send(request, {})
        while reply.read_chunk():
            pass
        reply.close()
    assert seen == [None, None]  # the second tenant's request carried no cookie of the first's


def test_a_foreign_401_after_a_redirect_costs_no_token_request(
    fake: FakeOfficeRND, app: App
) -> None:
    api = "https://api.example"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example":
            return httpx.Response(302, headers={"Location": "https://foreign.example/login"})
        return httpx.Response(401, json={"message": "not here"})

    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url,
        token_cache=MemoryTokenCache(), api_url=api,
    )  # fmt: skip
    with httpx.Client(auth=auth, transport=httpx.MockTransport(answer), follow_redirects=True) as c:
        for _ in range(3):
            response = c.get(f"{api}/api/v2/organizations/acme/members")
            assert response.status_code == 401
            assert "Authorization" not in response.request.headers  # dropped off the API host
    assert fake.token_request_count == 1  # the token was never blamed, nor forgotten
    assert auth.provider.fresh_token() is not None


def test_an_unreadable_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(ConfigurationError, match=r"missing-ca\.pem.*cannot be used for TLS"):
        OfficeRNDAuth("id", "secret", SCOPE, verify=str(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="cannot be used for TLS"):
        OfficeRNDAuth("id", "secret", SCOPE, verify=str(garbage))
