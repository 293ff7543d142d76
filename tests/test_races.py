"""Interleavings found by the soak, made deterministic: what one thread reads without the lock
never undoes what another did under it, and a token refused earlier does not block a call once
the process holds another."""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from officernd_auth import MemoryTokenCache, OfficeRNDAuth, Token, TokenProvider
from officernd_auth.core.flight import reset
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault

SCOPE = "flex.community.members.read"
MEMBERS = "/api/v2/organizations/acme/members"


class InterleavingCache(MemoryTokenCache):
    """Runs ``meanwhile`` (once) between reading a token and handing it to the caller."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[Token | None], None] | None = None

    def get(self, key: str) -> Token | None:
        token = super().get(key)
        action, self.meanwhile = self.meanwhile, None
        if action is not None:
            action(token)
        return token


def test_a_token_read_just_before_another_thread_forgot_it_is_not_held_again(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    cache = InterleavingCache()
    provider = TokenProvider(
        app.client_id, app.client_secret, SCOPE, token_url=fake.token_url, clock=clock,
        token_cache=cache,
    )  # fmt: skip
    first = provider.get_token()
    reset()  # the process holds nothing; this cache keeps its entry, so the next call reads it
    renewed: list[Token] = []

    def another_thread_sees_a_401(stale: Token | None) -> None:
        # between this thread's read of the cache and its use of what it read, another thread
        # had that token refused (a revocation), forgot it and fetched a new one
        def renew() -> None:
            provider.invalidate(stale)
            renewed.append(provider.get_token())

        other = threading.Thread(target=renew)
        other.start()
        other.join()

    cache.meanwhile = another_thread_sees_a_401
    assert provider.get_token() == first  # what it read: a 401 will heal this one request
    assert len(renewed) == 1
    assert renewed[0] != first
    assert provider.fresh_token() == renewed[0]  # the process keeps the newer token
    assert fake.token_request_count == 2


def test_a_token_refused_for_a_call_does_not_block_it_once_another_is_held(
    make_auth: Callable[..., OfficeRNDAuth], fake: FakeOfficeRND
) -> None:
    auth = make_auth()
    session = requests.Session()
    url = fake.api_url + MEMBERS
    refused = Fault.respond(401, '{"message": "Unauthorized"}')
    fake.fail_next_api_requests(refused, count=2)
    # A fresh token refused for this call: the library says so and keeps the 401 (the token
    # probably lacks the scope; another would be refused too).
    assert session.get(url, auth=auth).status_code == 401
    assert fake.token_request_count == 2
    prepared = session.prepare_request(requests.Request("GET", url, auth=auth))
    # Before that request is sent, the token is revoked, and another part of the process
    # renews it (a 401 on another call, say).
    fake.expire_tokens()
    auth.provider.invalidate()
    auth.provider.get_token()
    assert fake.token_request_count == 3
    response = session.send(prepared)
    # The refused token is no longer the one held: the call is re-sent with the held one.
    assert response.status_code == 200
    assert fake.token_request_count == 3
