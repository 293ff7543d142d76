"""Fixtures for the compatibility suite: a throwaway CA, TLS emulators and a real proxy."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from officernd_auth.testing import App, FakeOfficeRND

from .proxy import Proxy

trustme = pytest.importorskip("trustme")

SCOPE = "flex.community.members.read"
MEMBERS = "/api/v2/organizations/acme/members"


@dataclass
class Pki:
    ca_bundle: Path  # the CA that signed the server's certificate
    client_cert: Path  # a client certificate (with its key) signed by the same CA
    server_context: ssl.SSLContext
    mutual_context: ssl.SSLContext  # also demands a client certificate


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.com")
    ca_bundle = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    client_cert = folder / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(client_cert))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(server_context)
    mutual_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(mutual_context)
    ca.configure_trust(mutual_context)
    mutual_context.verify_mode = ssl.CERT_REQUIRED
    return Pki(ca_bundle, client_cert, server_context, mutual_context)


def _emulator(context: ssl.SSLContext | None) -> Iterator[tuple[FakeOfficeRND, App]]:
    with FakeOfficeRND(ssl_context=context) as fake:
        fake.seed_sample()
        yield fake, fake.add_app([SCOPE])


@pytest.fixture
def tls(pki: Pki) -> Iterator[tuple[FakeOfficeRND, App]]:
    yield from _emulator(pki.server_context)


@pytest.fixture
def mutual_tls(pki: Pki) -> Iterator[tuple[FakeOfficeRND, App]]:
    yield from _emulator(pki.mutual_context)


@pytest.fixture
def plain() -> Iterator[tuple[FakeOfficeRND, App]]:
    yield from _emulator(None)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_transport_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
        "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
