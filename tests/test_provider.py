"""officernd_auth.core.provider: the TokenProvider's own API (getting, fetching, seeding and
forgetting tokens, listeners, its read-only settings), against the emulator. The lifecycle seen
through the front ends is a suite of its own (test_lifecycle.py), as are the herds (test_races.py)
and the budget (test_policy.py, test_shared_budget.py)."""

from __future__ import annotations

import pickle

import pytest

from officernd_auth import MemoryTokenCache, Token, TokenProvider
from officernd_auth.testing import App, FakeClock, FakeOfficeRND

SCOPE = "flex.community.members.read"


def _provider(fake: FakeOfficeRND, app: App, clock: FakeClock) -> TokenProvider:
    return TokenProvider(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, clock=clock,
        token_cache=MemoryTokenCache(),
    )  # fmt: skip


def test_get_token_fetches_once_and_fetch_token_always(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    provider = _provider(fake, app, clock)
    first = provider.get_token()
    assert provider.get_token() is first
    assert provider.token_requests == fake.token_request_count == 1
    renewed = provider.fetch_token()
    assert renewed.access_token != first.access_token
    assert provider.get_token() is renewed
    assert provider.token_requests == 2
    with pytest.raises(TypeError, match="unexpected keyword"):
        provider.fetch_token(auth=None)


def test_invalidate_forgets_only_the_token_it_is_given(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    provider = _provider(fake, app, clock)
    old = provider.get_token()
    new = provider.fetch_token()  # another thread renewed meanwhile
    provider.invalidate(old.authorization)  # a 401 seen with the old token
    assert provider.get_token() is new  # kept: nothing fetched again
    provider.invalidate(new)
    assert provider.current_token() is None
    assert provider.get_token().access_token not in (old.access_token, new.access_token)
    assert fake.token_request_count == 3


def test_a_seeded_token_is_served_and_shared_with_its_cache(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    provider = _provider(fake, app, clock)
    seeded = provider.seed({"access_token": "d" * 40, "expires_in": 600})
    assert seeded.scopes == frozenset([SCOPE])
    assert provider.get_token() is seeded
    again = TokenProvider(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, clock=clock,
        token_cache=provider.token_cache,
    )  # fmt: skip
    assert again.get_token() == seeded
    assert fake.token_request_count == 0


def test_listeners_hear_every_fetched_token_until_removed(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    provider = _provider(fake, app, clock)
    heard: list[Token] = []
    provider.add_listener(heard.append)
    provider.get_token()
    provider.get_token()  # held: nothing fetched, nothing heard
    provider.fetch_token()
    assert len(heard) == 2
    provider.remove_listener(heard.append)
    provider.fetch_token()
    assert len(heard) == 2


def test_settings_are_read_only_and_say_how_to_change_them(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    provider = _provider(fake, app, clock)
    assert provider.token_url == fake.token_url
    assert provider.scopes == (SCOPE,)
    assert provider.budget_window == 60.0
    with pytest.raises(AttributeError, match=r"TokenProvider.token_url is read-only: .* \(make "
                       r"another with the option you want"):  # fmt: skip
        provider.token_url = "https://elsewhere.example/oauth/token"  # type: ignore[misc]
    assert "secret" not in repr(provider).lower()
    assert app.client_secret not in repr(provider)


def test_a_pickled_provider_keeps_its_settings_and_finds_its_cache_again(
    fake: FakeOfficeRND, app: App
) -> None:
    provider = TokenProvider(app.client_id, app.client_secret, SCOPE, token_url=fake.token_url)
    token = provider.get_token()
    copy = pickle.loads(pickle.dumps(provider))
    assert copy.key == provider.key
    assert copy.get_token() == token  # the process's memory cache: no second request
    assert fake.token_request_count == 1
