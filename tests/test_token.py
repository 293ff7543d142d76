"""The token value object (pure: no server)."""

from __future__ import annotations

import pickle

import pytest

from officernd_auth import Token

SECRET_TOKEN = "a" * 40


def make(lifetime: float = 3600.0) -> Token:
    return Token(
        SECRET_TOKEN, expires_at=1000.0 + lifetime, obtained_at=1000.0, scopes=frozenset({"x.y"})
    )


def test_expiry_with_leeway() -> None:
    token = make()
    assert not token.is_expired(now=4539.0, leeway=60)
    assert token.is_expired(now=4540.0, leeway=60)
    assert token.is_expired(now=4600.0)
    assert token.expires_in(4000.0) == 600.0


def test_leeway_is_clamped_to_half_the_lifetime() -> None:
    token = make(lifetime=30)
    assert token.effective_leeway(60) == 15
    assert not token.is_expired(now=1014.0, leeway=60)
    assert token.is_expired(now=1015.0, leeway=60)


def test_frozen() -> None:
    with pytest.raises(AttributeError, match="read-only"):
        make().access_token = "x"  # type: ignore[misc]


def test_repr_and_str_hide_the_token() -> None:
    token = make()
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert SECRET_TOKEN not in text
    assert token.authorization == f"Bearer {SECRET_TOKEN}"
    assert pickle.loads(pickle.dumps(token)) == token


def test_to_dict() -> None:
    assert make().to_dict(now=1600.0) == {
        "access_token": SECRET_TOKEN,
        "token_type": "Bearer",
        "expires_in": 3000,
        "expires_at": 4600.0,
        "scope": ["x.y"],
    }


@pytest.mark.parametrize("lifetime", [3600.0, 100.0, 30.0, 1.0])
@pytest.mark.parametrize("leeway", [0.0, 10.0, 60.0])
def test_the_hot_path_serves_a_held_token_exactly_until_its_renewal_time(
    lifetime: float, leeway: float
) -> None:
    # fresh_token skips the clamp while the token is before its expiry minus the whole leeway:
    # it must still agree with renews_at (the clamp applied) at every moment.
    from officernd_auth import TokenProvider
    from officernd_auth.cache import MemoryTokenCache
    from officernd_auth.testing import FakeClock

    clock = FakeClock(1000.0)
    provider = TokenProvider(
        "id",
        "secret",
        "flex.community.members.read",
        leeway=leeway,
        clock=clock,
        token_cache=MemoryTokenCache(),
    )
    token = provider.seed(make(lifetime))
    renews_at = token.renews_at(leeway)
    assert renews_at == token.expires_at - min(leeway, lifetime / 2)
    for moment in sorted({1000.0, renews_at - 0.5, renews_at - 1e-6, renews_at, renews_at + 1}):
        clock.advance(moment - clock())
        assert (provider.fresh_token() is token) is (clock() < renews_at), moment
