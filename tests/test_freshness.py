"""officernd_auth.core.freshness: fresh until the renewal time (expiry minus the leeway, clamped
to half the lifetime), then renewing while a quarter of the leeway is left (others go on sending
the held token), then expired; ``status`` says the same. Seen through a provider with a fake clock
and a token seeded in its own memory cache: no network."""

from __future__ import annotations

from officernd_auth import MemoryTokenCache, Token, TokenProvider
from officernd_auth.testing import FakeClock

SCOPE = "flex.community.members.read"


def _provider(clock: FakeClock, leeway: float = 60.0) -> TokenProvider:
    return TokenProvider(
        "freshness-client", "secret", SCOPE, clock=clock, leeway=leeway,
        token_cache=MemoryTokenCache(),
    )  # fmt: skip


def test_a_token_goes_from_fresh_to_renewing_to_expired() -> None:
    clock = FakeClock()
    provider = _provider(clock)
    assert provider.status().state == "none"
    assert provider.fresh_token() is None
    token = provider.seed({"access_token": "a" * 40, "expires_in": 3600})
    assert provider.renews_at(token) == token.expires_at - 60
    assert provider.fresh_token() is token
    assert provider.status().state == "valid"
    assert provider.has_valid_token()
    clock.advance(3600 - 60)  # the renewal time: no longer fresh, still sent while renewing
    assert provider.fresh_token() is None
    assert provider.held_in_renewal() is token
    assert provider.status().state == "renewing"
    assert provider.status().expires_in == 60
    clock.advance(60 - 15)  # a quarter of the leeway left: every caller waits for the next
    assert provider.held_in_renewal() is None
    clock.advance(15)
    assert provider.status().state == "expired"
    assert provider.current_token() is token  # still cached, valid or not


def test_the_leeway_is_clamped_to_half_a_short_lifetime() -> None:
    clock = FakeClock()
    provider = _provider(clock, leeway=60.0)
    token = provider.seed({"access_token": "b" * 40, "expires_in": 40})
    assert provider.renews_at(token) == token.expires_at - 20  # not on arrival
    clock.advance(19.9)
    assert provider.fresh_token() is token
    clock.advance(0.2)
    assert provider.fresh_token() is None
    assert provider.held_in_renewal() is token  # 19.9 s left, a quarter of 20 s is 5 s


def test_a_provider_without_leeway_uses_a_token_to_its_last_second() -> None:
    clock = FakeClock()
    provider = _provider(clock, leeway=0.0)
    token = provider.seed(Token("c" * 40, clock() + 10, clock(), frozenset([SCOPE])))
    clock.advance(9.99)
    assert provider.fresh_token() is token
    clock.advance(0.01)
    assert provider.fresh_token() is None
    assert provider.held_in_renewal() is None
