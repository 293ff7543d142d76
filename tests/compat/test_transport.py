"""Token requests and API calls over the user's transport: a real TLS server with a throwaway
CA (``verify=``, ``REQUESTS_CA_BUNDLE``, mutual TLS ``cert=``) and a real forwarding and CONNECT
proxy (``proxies=``, ``HTTPS_PROXY``), through both entry points."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDSession, TokenEndpointError
from officernd_auth.testing import App, FakeOfficeRND

from .conftest import MEMBERS, SCOPE, Pki
from .proxy import Proxy

Emulator = tuple[FakeOfficeRND, App]


def session_for(emulator: Emulator, **options: Any) -> OfficeRNDSession:
    fake, app = emulator
    return OfficeRNDSession(
        app.client_id, app.client_secret, SCOPE, org="acme",
        token_url=fake.token_url, api_url=fake.api_url, max_token_retries=0, **options,
    )  # fmt: skip


def auth_for(emulator: Emulator, **options: Any) -> OfficeRNDAuth:
    fake, app = emulator
    return OfficeRNDAuth(
        app.client_id, app.client_secret, SCOPE,
        token_url=fake.token_url, api_url=fake.api_url, max_token_retries=0, **options,
    )  # fmt: skip


# -- TLS ---------------------------------------------------------------------------------------


def test_untrusted_certificate_fails_the_token_request(tls: Emulator) -> None:
    with pytest.raises(TokenEndpointError, match="SSLError"):
        session_for(tls).get("members")
    assert tls[0].token_request_count == 0  # the handshake failed: nothing was sent


def test_session_verify_option_applies_to_token_and_api(tls: Emulator, pki: Pki) -> None:
    session = session_for(tls, verify=str(pki.ca_bundle))
    assert session.get("members").status_code == 200
    assert tls[0].token_request_count == 1


def test_session_verify_attribute_applies_to_token_requests(tls: Emulator, pki: Pki) -> None:
    session = session_for(tls)
    session.verify = str(pki.ca_bundle)  # the requests habit
    assert session.get("members").status_code == 200


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_from_the_environment(
    tls: Emulator, pki: Pki, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, str(pki.ca_bundle))
    assert session_for(tls).get("members").status_code == 200
    fake, _ = tls
    assert requests.get(fake.api_url + MEMBERS, auth=auth_for(tls), timeout=10).status_code == 200


def test_auth_verify_option(tls: Emulator, pki: Pki) -> None:
    fake, _ = tls
    auth = auth_for(tls, verify=str(pki.ca_bundle))
    response = requests.get(
        fake.api_url + MEMBERS, auth=auth, verify=str(pki.ca_bundle), timeout=10
    )
    assert response.status_code == 200


def test_mutual_tls_client_certificate(mutual_tls: Emulator, pki: Pki) -> None:
    fake, _ = mutual_tls
    without = session_for(mutual_tls, verify=str(pki.ca_bundle))
    with pytest.raises(TokenEndpointError):
        without.get("members")
    session = session_for(mutual_tls, verify=str(pki.ca_bundle), cert=str(pki.client_cert))
    assert session.get("members").status_code == 200
    auth = auth_for(mutual_tls, verify=str(pki.ca_bundle), cert=str(pki.client_cert))
    response = requests.get(
        fake.api_url + MEMBERS, auth=auth, verify=str(pki.ca_bundle),
        cert=str(pki.client_cert), timeout=10,
    )  # fmt: skip
    assert response.status_code == 200


def test_auth_uses_a_given_sessions_transport(mutual_tls: Emulator, pki: Pki) -> None:
    fake, _ = mutual_tls
    http = requests.Session()
    http.verify = str(pki.ca_bundle)
    http.cert = str(pki.client_cert)
    http.auth = auth_for(mutual_tls, session=http)
    assert http.get(fake.api_url + MEMBERS, timeout=10).status_code == 200


def test_fetch_token_transport_keywords(tls: Emulator, pki: Pki) -> None:
    session = session_for(tls)
    token = session.fetch_token(verify=str(pki.ca_bundle), timeout=5, headers={"X-Trace": "1"})
    assert token["access_token"]


# -- proxies -----------------------------------------------------------------------------------


def test_session_proxies_carry_token_and_api_requests(plain: Emulator, proxy: Proxy) -> None:
    fake, _ = plain
    session = session_for(plain, proxies={"http": proxy.url})
    assert session.get("members").status_code == 200
    methods = [m for m, _ in proxy.seen]
    assert ("POST", fake.token_url) in proxy.seen
    assert "GET" in methods


def test_session_proxies_attribute(plain: Emulator, proxy: Proxy) -> None:
    fake, _ = plain
    session = session_for(plain)
    session.proxies = {"http": proxy.url}
    assert session.get("members").status_code == 200
    assert ("POST", fake.token_url) in proxy.seen


def test_https_proxy_from_the_environment_tunnels(
    tls: Emulator, pki: Pki, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _ = tls
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    session = session_for(tls, verify=str(pki.ca_bundle))
    assert session.get("members").status_code == 200
    assert ("CONNECT", f"{fake.host}:{fake.port}") in proxy.seen
    auth = auth_for(tls, verify=str(pki.ca_bundle))
    before = len(proxy.seen)
    auth.provider.fetch_token()  # the same credential's token is cached: fetch anew
    assert len(proxy.seen) > before  # the auth adapter's token request went through it too


def test_no_proxy_is_honoured(
    plain: Emulator, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert session_for(plain).get("members").status_code == 200
    assert proxy.seen == []


def test_auth_proxies_option(plain: Emulator, proxy: Proxy) -> None:
    fake, _ = plain
    auth = auth_for(plain, proxies={"http": proxy.url})
    assert requests.get(fake.api_url + MEMBERS, auth=auth, timeout=10).status_code == 200
    assert ("POST", fake.token_url) in proxy.seen


def test_close_closes_token_connections(plain: Emulator) -> None:
    session = session_for(plain)
    assert session.get("members").status_code == 200
    session.close()
    auth = auth_for(plain)
    auth.get_access_token()
    auth.close()


def test_environment_proxies_are_read_per_request_not_remembered(
    plain: Emulator, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # proxies of its own for another scheme: the environment's must not be merged into them
    auth = auth_for(plain, proxies={"https": "http://127.0.0.1:9"})
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    auth.provider.fetch_token()
    assert len(proxy.seen) == 1
    monkeypatch.delenv("HTTP_PROXY")
    auth.provider.fetch_token()  # the environment changed: no proxy any more
    assert len(proxy.seen) == 1
    assert plain[0].token_request_count == 2
