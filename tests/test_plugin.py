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


USERS_SUITE = """
import pytest
from officernd_auth import OfficeRNDSession
from officernd_auth.testing import FakeOfficeRND

SCOPE = "flex.community.members.read"


@pytest.fixture(scope="module")
def server():
    # a user's own emulator (or the real OfficeRND) shared by the module, not officernd_fake
    with FakeOfficeRND(rate_limit=None) as fake:
        fake.seed_sample()
        fake.app = fake.add_app([SCOPE])
        yield fake
        with open("token_requests.txt", "w") as out:
            out.write(str(fake.token_request_count))


@pytest.mark.parametrize("n", range(8))
def test_each_builds_its_own_session(server, n):
    session = OfficeRNDSession(server.app.client_id, server.app.client_secret, SCOPE,
                               org="acme", token_url=server.token_url, api_url=server.api_url)
    assert session.get("members").status_code == 200
"""


@pytest.mark.parametrize(("ini", "expected"), [("", 1), ("officernd_isolate = true", 8)])
def test_an_installed_plugin_isolates_only_when_asked(
    pytester: pytest.Pytester, ini: str, expected: int
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_users_suite=USERS_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=8)
    assert (pytester.path / "token_requests.txt").read_text() == str(expected)


def test_the_marker_isolates_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked=USERS_SUITE.replace(
            "def test_each_builds_its_own_session",
            "@pytest.mark.officernd_isolated\ndef test_each_builds_its_own_session",
        )
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--strict-markers"
    )
    result.assert_outcomes(passed=8)
    assert (pytester.path / "token_requests.txt").read_text() == "8"
