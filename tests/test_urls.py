"""officernd_auth.values.urls: the transport rule (https, or http on loopback), one spelling per
URL and per server, and the path that messages show."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from officernd_auth import ConfigurationError
from officernd_auth.values.urls import (
    check_url,
    is_loopback,
    normalise_url,
    origin_of,
    origin_url,
    url_path,
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True), ("LOCALHOST.", True), ("api.localhost", True), ("127.0.0.1", True),
        ("127.5.6.7", True), ("[::1]", True), ("::1", True), ("", False), (None, False),
        ("localhost.example", False), ("10.0.0.1", False), ("128.0.0.1", False),
    ],
)  # fmt: skip
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_https_anywhere_http_only_on_loopback() -> None:
    assert check_url("token_url", "https://identity.officernd.com/oauth/token/") == (
        "https://identity.officernd.com/oauth/token"
    )
    assert check_url("api_url", " http://127.0.0.1:8080/api ") == "http://127.0.0.1:8080/api"
    with pytest.raises(ConfigurationError, match=r"token_url http://identity.officernd.com\.\.\. "
                       r"must use https \(plain http is allowed only for localhost"):  # fmt: skip
        check_url("token_url", "http://identity.officernd.com/oauth/token")
    with pytest.raises(ConfigurationError, match="is not an absolute URL: give it as https://"):
        check_url("api_url", "app.officernd.com/api")
    with pytest.raises(ConfigurationError, match="must be a string, got int"):
        check_url("api_url", 443)  # type: ignore[arg-type]


def test_credentials_in_a_url_are_refused_and_not_repeated() -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_url("token_url", "https://me:hunter2@identity.officernd.com/oauth/token")
    assert "must not carry credentials" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_one_spelling_per_url() -> None:
    spelling = "https://identity.officernd.com/oauth/token"
    for url in (
        "HTTPS://Identity.OfficeRND.com:443/oauth/token?",
        "https://identity.officernd.com/oauth/token",
        "https://IDENTITY.officernd.com/oauth/token",
    ):
        assert normalise_url(url) == spelling
    assert normalise_url("https://host:8443/t?x=1") == "https://host:8443/t?x=1"
    assert normalise_url("http://[::1]:80/t") == "http://[::1]/t"


@given(
    st.sampled_from(["https", "HTTPS", "http"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,15}", fullmatch=True),
    st.sampled_from(["", ":443", ":80", ":8443"]),
    st.from_regex(r"(/[A-Za-z0-9._~-]{0,8}){0,3}(\?[a-z=&]{0,6})?", fullmatch=True),
)
def test_normalising_twice_changes_nothing(scheme: str, host: str, port: str, rest: str) -> None:
    once = normalise_url(f"{scheme}://{host}{port}{rest}")
    assert normalise_url(once) == once


def test_one_spelling_per_server() -> None:
    assert origin_of("HTTPS://Host.Example/x") == ("https", "host.example", 443)
    assert origin_of("http://127.0.0.1/x") == ("http", "127.0.0.1", 80)
    assert origin_of("https://host.example:8443") == ("https", "host.example", 8443)
    assert origin_url("https://Host.Example.:443/a/b?c") == "https://host.example"
    assert origin_url("http://[::1]:8080/x") == "http://[::1]:8080"
    # one object for every URL of a server: a budget and its key per server, not per call
    assert origin_url("https://a.example/x") is origin_url("https://a.example/y")


def test_messages_show_the_path_without_query_or_fragment() -> None:
    assert url_path("https://app.officernd.com/api/v2/members?token=abc#f") == (
        "https://app.officernd.com/api/v2/members"
    )
    assert "token" not in url_path("https://x.example/a?access_token=abc")
