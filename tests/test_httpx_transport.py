"""officernd_auth.httpx_adapter.transport: token requests over httpx (and httpx2: the same code
given its library; this file runs on each, see tests/http_library.py) with requests-style
settings: one shared transport per settings and library, proxies as httpx mounts, unusable TLS
files named with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from http_library import httpx

from officernd_auth import ConfigurationError, TokenProvider
from officernd_auth.httpx_adapter.transport import mount_pattern, shared_transport
from officernd_auth.testing import App, FakeOfficeRND

SCOPE = "flex.community.members.read"


def test_one_transport_per_settings_and_library() -> None:
    first = shared_transport(True, None, {}, httpx)
    assert shared_transport(True, None, {}, httpx.__name__) is first  # as an unpickled one names it
    assert shared_transport(False, None, {}, httpx) is not first
    proxied = shared_transport(True, None, {"https": "http://127.0.0.1:3128"}, httpx)
    assert proxied is not first
    assert proxied is shared_transport(True, None, {"https": "http://127.0.0.1:3128"}, httpx)


@pytest.mark.parametrize(
    ("key", "pattern"),
    [("https", "https://"), ("all", "all://"), ("http://host.example", "http://host.example"),
     ("all://host.example:8080", "all://host.example:8080")],
)  # fmt: skip
def test_requests_proxy_keys_become_httpx_mounts(key: str, pattern: str) -> None:
    assert mount_pattern(key) == pattern


@pytest.mark.parametrize("key", ["socks5", "https://host.example/path", "ftp://host"])
def test_a_proxy_key_httpx_cannot_express_says_what_can(key: str) -> None:
    with pytest.raises(ConfigurationError, match="has no httpx equivalent: use 'http', 'https'"):
        mount_pattern(key)


def test_an_unreadable_ca_bundle_is_named_with_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(ConfigurationError, match=r"verify=.*missing-ca\.pem.* cannot be used for "
                       r"TLS .* give the path of a readable PEM file"):  # fmt: skip
        shared_transport(str(missing), None, {}, httpx)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the library's on verify=<str>
def test_a_clients_unreadable_ca_bundle_is_named_and_chains_nothing(tmp_path: Path) -> None:
    """The settings of a user's client (verify=, cert=) make one TLS context per library and
    settings; one that cannot be made is our configuration error, with the library's error
    neither its cause nor its context (it may quote a path, never more), and it is not kept."""
    from officernd_auth.httpx_adapter.transport import HttpxTransport

    missing = tmp_path / "missing-ca.pem"
    for _ in range(2):  # a failure is not remembered: asked again, it is tried again
        with pytest.raises(ConfigurationError, match=r"verify=.*missing-ca\.pem.* cannot be used "
                           r"for TLS") as caught:  # fmt: skip
            HttpxTransport({"verify": str(missing), "http2": False}, lib=httpx)
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None
    trustme = pytest.importorskip("trustme")
    trustme.CA().cert_pem.write_to_path(str(missing))
    HttpxTransport({"verify": str(missing)}, lib=httpx).close()  # now readable: made


def test_a_providers_token_request_goes_over_the_shared_transport(
    fake: FakeOfficeRND, app: App
) -> None:
    provider = TokenProvider(app.client_id, app.client_secret, SCOPE, token_url=fake.token_url)
    provider.use_transport(shared_transport(True, None, {}, httpx))
    assert provider.get_token().access_token in fake.issued_tokens()
    assert fake.token_request_count == 1
