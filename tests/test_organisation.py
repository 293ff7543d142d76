"""officernd_auth.core.organisation: short paths inside one organisation, and the API's 429
decision, which the requests session and both httpx clients share."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest

from officernd_auth import ConfigurationError
from officernd_auth.core.organisation import (
    check_org,
    organisation_url,
    rate_limited_wait,
    resolve,
)

API = "https://app.officernd.com"
ACME = f"{API}/api/v2/organizations/acme"


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("members", f"{ACME}/members"),
        ("/members/", f"{ACME}/members/"),
        ("members/abc123", f"{ACME}/members/abc123"),
        ("members?$limit=5", f"{ACME}/members?$limit=5"),
        ("api/v2/organizations/acme/members", f"{ACME}/members"),
        ("/api/v1/organizations/acme/offices", f"{API}/api/v1/organizations/acme/offices"),
        ("https://elsewhere.example/x", "https://elsewhere.example/x"),
        ("HTTPS://Elsewhere.example/x", "HTTPS://Elsewhere.example/x"),
    ],
)
def test_short_paths_resolve_inside_the_organisation(path: str, resolved: str) -> None:
    assert resolve(path, API, "v2", "acme") == resolved


@pytest.mark.parametrize(
    "path",
    [
        "../other-org/members", "members/../../other", "members/%2e%2e/x", "members%2fx",
        "members/%5C..", "members\\..", "api/v2/organizations/acme/../evil/members",
    ],
)  # fmt: skip
def test_no_short_path_leaves_the_organisation(path: str) -> None:
    with pytest.raises(ValueError, match="tries to leave the organisation: use an absolute URL"):
        resolve(path, API, "v2", "acme")


def test_a_host_in_disguise_is_neither_a_path_nor_a_url() -> None:
    for path in ("//evil.example/members", "ftp:members"):
        with pytest.raises(ValueError, match="is neither a path nor an absolute URL"):
            resolve(path, API, "v2", "acme")


def test_without_an_organisation_a_short_path_says_what_is_missing() -> None:
    with pytest.raises(
        ConfigurationError, match=r"org is missing: pass org=\.\.\. or set OFFICERND"
    ):
        resolve("members", API, "v2", None)
    assert resolve("https://x.example/y", API, "v2", None) == "https://x.example/y"
    assert organisation_url(API, "v1", "acme") == f"{API}/api/v1/organizations/acme"


@pytest.mark.parametrize("org", ["", "acme/members", ".", ".."])
def test_an_organisation_is_one_path_segment(org: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an organisation slug"):
        check_org(org)


def test_the_slug_and_none_are_taken_as_they_are() -> None:
    assert check_org("acme") == "acme"
    assert check_org(None) is None


def test_a_429_is_retried_only_for_calls_that_can_be_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"{ACME}/members?token=not-logged"
    with caplog.at_level(logging.WARNING, logger="officernd_auth"):
        assert rate_limited_wait("GET", url, "7", 0, (3, 60.0)) == 7.0
    assert "members answered 429; retrying in 7.0 s" in caplog.text
    assert "not-logged" not in caplog.text
    assert rate_limited_wait("delete", url, None, 2, (3, 60.0)) == 4.0  # 2 ** attempt
    assert rate_limited_wait("PUT", url, "600", 0, (3, 60.0)) == 60.0  # at most the longest
    later = formatdate(time.time() + 30, usegmt=True)
    wait = rate_limited_wait("GET", url, later, 0, (3, 60.0))
    assert wait is not None
    assert 25 <= wait <= 30
    assert rate_limited_wait("POST", url, "1", 0, (3, 60.0)) is None  # not idempotent
    assert rate_limited_wait("PATCH", url, "1", 0, (3, 60.0)) is None
    assert rate_limited_wait("GET", url, "1", 3, (3, 60.0)) is None  # out of attempts
    assert rate_limited_wait("PUT", url, "1", 0, (3, 60.0), replayable=False) is None
