"""The pytest plugin is registered by installing the package."""

from __future__ import annotations

import pytest

from officernd_auth.testing import FakeOfficeRND

pytest_plugins = ["pytester"]


def test_fixture_is_usable(officernd_fake: FakeOfficeRND) -> None:
    assert officernd_fake.records("members")
    assert officernd_fake.token_url.startswith("http://127.0.0.1:")


def test_fixture_is_listed_for_other_projects(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from officernd_auth import OfficeRNDSession

        def test_users_code(officernd_fake):
            app = officernd_fake.add_app(["flex.community.members.read"])
            session = OfficeRNDSession(app.client_id, app.client_secret,
                                       "flex.community.members.read", org="acme",
                                       token_url=officernd_fake.token_url,
                                       api_url=officernd_fake.api_url)
            assert len(list(session.paginate("members"))) == 260
        """
    )
    listed = pytester.runpytest_subprocess("--fixtures")
    listed.stdout.fnmatch_lines(["*officernd_fake*"])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
