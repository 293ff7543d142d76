"""officernd_auth.core.paging: every item of a list, page by page, through whatever ``get`` a
front end gives it (here a session's, against the emulator); v2 cursors in the body, v1 cursors
in a response header."""

from __future__ import annotations

import pytest

from officernd_auth import OfficeRNDSession
from officernd_auth.core.paging import first_query, pages, read_page
from officernd_auth.testing import App, FakeOfficeRND


def _session(fake: FakeOfficeRND, app: App, version: str) -> OfficeRNDSession:
    scope = "flex.community.members.read" if version == "v2" else "officernd.api.read"
    return OfficeRNDSession(
        app.client_id, app.client_secret, scope, org="acme", api_version=version,
        token_url=fake.token_url, api_url=fake.api_url,
    )  # fmt: skip


@pytest.mark.parametrize(("version", "size"), [("v2", 50), ("v1", 100), ("v2", 7)])
def test_every_item_once_in_pages_of_the_size_asked(
    fake: FakeOfficeRND, app: App, version: str, size: int
) -> None:
    with _session(fake, app, version) as session:
        before = len(fake.api_requests)
        members = list(pages(session.get, "members", None, size))
        assert len(members) == 260
        assert len({member["_id"] for member in members}) == 260
        assert len(fake.api_requests) - before == -(-260 // size)  # one call per page


def test_the_callers_filters_stay_on_every_page(fake: FakeOfficeRND, app: App) -> None:
    with _session(fake, app, "v2") as session:
        before = len(fake.api_requests)
        list(pages(session.get, "members", {"$limit": 20, "status": "active"}, 50))
        sent = [request.query for request in fake.api_requests[before:]]
    assert all(query["status"] == ["active"] for query in sent)
    assert all(query["$limit"] == ["20"] for query in sent)  # the caller's size wins
    assert len(sent) > 1


def test_first_query_keeps_the_callers_size() -> None:
    assert first_query(None, 50) == {"$limit": 50}
    assert first_query({"$limit": 5, "q": "x"}, 50) == {"$limit": 5, "q": "x"}


def test_a_page_is_read_in_either_versions_shape() -> None:
    assert read_page("members", {"results": [1, 2], "cursorNext": "c2"}, {}) == (
        [1, 2], {"$cursorNext": "c2"},
    )  # fmt: skip
    assert read_page("members", {"results": [], "cursorNext": "c2"}, {}) == ([], None)
    assert read_page("members", [1], {"rnd-cursor-next": "n2"}) == ([1], {"$next": "n2"})
    assert read_page("members", [1], {}) == ([1], None)
    with pytest.raises(ValueError, match="'members/abc' did not answer with a list"):
        read_page("members/abc", {"_id": "abc"}, {})
