"""officernd_auth.core.api_rules: which URLs receive the token (the 401 decisions are suites of
their own: test_session_heal.py, test_hardening*.py)."""

from __future__ import annotations

import pytest

from officernd_auth import OfficeRNDAuth

SCOPE = "flex.community.members.read"


def test_host_decisions_are_bounded_without_a_cliff(monkeypatch: pytest.MonkeyPatch) -> None:
    import officernd_auth.core.api_rules

    auth = OfficeRNDAuth("id", "secret", SCOPE)
    parsed: list[str] = []  # every URL prefix the auth object had to parse to decide
    parse = officernd_auth.core.api_rules.origin_of
    monkeypatch.setattr(
        officernd_auth.core.api_rules, "origin_of", lambda url: parsed.append(url) or parse(url)
    )
    hosts = [f"https://host-{index}.example/api" for index in range(1_100)]
    for url in hosts:
        assert not auth.allows(url)
    assert len(parsed) == 1_100
    for url in hosts[-1_000:]:  # the most recent thousand are still decided
        assert not auth.allows(url)
    assert len(parsed) == 1_100
