"""officernd_auth.core.hints: what to tell the user about an API answer or a network failure (the
session, the auth object and the CLI say each hint the same way)."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests

from officernd_auth.core.hints import (
    nearest_resource,
    needed_scope,
    network_cause,
    organisation_not_found,
)

ACME = "https://app.officernd.com/api/v2/organizations/acme"


def test_the_scope_a_call_needs_is_named_from_its_method_and_path() -> None:
    assert needed_scope("GET", f"{ACME}/members?$limit=5") == "flex.community.members.read"
    assert needed_scope("POST", f"{ACME}/members") == "flex.community.members.create"
    assert needed_scope("GET", f"{ACME}/locations/abc") == "flex.space.locations.read"
    assert needed_scope("GET", "https://app.officernd.com/elsewhere") is None


@pytest.mark.parametrize(
    ("path", "nearest"),
    [("memebers", "members"), ("/bokings/x", "bookings"), ("members", None), ("", None),
     ("completely-unrelated", None)],
)  # fmt: skip
def test_a_mistyped_resource_gets_the_nearest_known_one(path: str, nearest: str | None) -> None:
    assert nearest_resource(path) == nearest


def test_a_wrong_organisation_is_told_by_officernds_500() -> None:
    assert organisation_not_found(500, b'{"message":"Organization not found"}')
    assert not organisation_not_found(404, b'{"message":"Organization not found"}')
    assert not organisation_not_found(500, b"Internal Server Error")


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_a_refused_connection_is_said_in_words_with_its_class() -> None:
    with pytest.raises(requests.ConnectionError) as raised:
        requests.get(f"http://127.0.0.1:{_refused_port()}/", timeout=5)
    assert network_cause(raised.value) == (
        "the connection was refused (nothing listens there?) (ConnectionError)"
    )


def _wrapped_tls_failure() -> None:
    try:
        raise ssl.SSLCertVerificationError("certificate verify failed")
    except ssl.SSLError as inner:
        raise OSError("wrapped") from inner


def test_causes_are_found_through_the_chain_and_unknown_ones_keep_their_class() -> None:
    with pytest.raises(OSError, match="wrapped") as raised:
        _wrapped_tls_failure()
    assert network_cause(raised.value) == (
        "the TLS certificate was not trusted (CA bundle?) (OSError)"
    )
    assert network_cause(KeyError("x")) == "KeyError"
