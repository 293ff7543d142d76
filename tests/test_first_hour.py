"""What a new user meets in the first hour: errors that point at the fix, paths that are not
doubled, progress on long lists."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from typing import Any

import pytest

from officernd_auth import OfficeRNDSession, TokenEndpointError
from officernd_auth.testing import FakeOfficeRND


def test_a_wrong_organisation_slug_says_where_to_find_the_right_one(
    make_session: Callable[..., OfficeRNDSession], caplog: pytest.LogCaptureFixture
) -> None:
    session = make_session(org="doesnotexist")
    with caplog.at_level(logging.WARNING, logger="officernd_auth"):
        assert session.get("members").status_code == 500
        assert session.get("members").status_code == 500
    warnings = [
        r.getMessage() for r in caplog.records if "Organization not found" in r.getMessage()
    ]
    assert len(warnings) == 1  # once per session
    assert "'doesnotexist'" in warnings[0]
    assert "app.officernd.com/<slug>" in warnings[0]


def test_a_404_from_the_token_endpoint_says_to_check_token_url(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session(token_url=fake.url + "/oauth/tokens")
    with pytest.raises(TokenEndpointError, match="check token_url"):
        session.get("members")


@pytest.mark.parametrize(
    "path", ["api/v2/organizations/acme/members", "/api/v2/organizations/acme/members"]
)
def test_a_full_api_path_is_not_doubled(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, path: str
) -> None:
    session = make_session()
    assert session.url_for(path) == fake.api_url + "/api/v2/organizations/acme/members"
    assert session.get(path).status_code == 200
    with pytest.raises(ValueError, match="leave the organisation"):
        session.url_for("api/v2/organizations/acme/../other/members")


def test_paginate_with_a_progress_bar(
    make_session: Callable[..., OfficeRNDSession], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    members = list(make_session().paginate("members", progress=True))
    assert len(members) == 260
    assert "260" in capsys.readouterr().err  # tqdm's count, on stderr


def test_paginate_progress_without_tqdm_says_how_to_get_it(
    make_session: Callable[..., OfficeRNDSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    with pytest.warns(UserWarning, match="pip install tqdm"):
        members = list(make_session().paginate("members", progress=True))
    assert len(members) == 260
