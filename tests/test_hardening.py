"""Hardening: what a hostile or broken token endpoint, a planted cache file or a careless command
line can do, and that none of it reaches a secret, escapes as a foreign exception or costs budget.
Each test failed before its fix."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests

from officernd_auth import (
    OfficeRNDAuth,
    OfficeRNDAuthError,
    OfficeRNDSession,
    RateLimitedError,
    TokenEndpointError,
    TokenProvider,
)
from officernd_auth.cache import FileTokenCache, cache_key
from officernd_auth.cache.base import record_of
from officernd_auth.errors import TokenCacheWarning
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault
from officernd_auth.values.token import Token

SECRET = 'abc/def+ghi jkl"mno&p=q%r<s>'  # characters that every encoding changes
MEMBERS = "/api/v2/organizations/acme/members"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything reachable through __cause__ and __context__."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def assert_no_secret_anywhere(exc: BaseException, *secrets: str) -> None:
    for link in exception_chain(exc):
        assert not isinstance(link, requests.RequestException), "a requests exception rides along"
        text = f"{link!s} {link!r} {vars(link)!r} {link.args!r}"
        for secret in secrets:
            for form in (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)):
                assert form not in text, (form, text)


@pytest.fixture
def secret_app(fake: FakeOfficeRND) -> App:
    return fake.add_app(["flex.community.members.read"], client_secret=SECRET)


def provider_for(fake: FakeOfficeRND, app: App, **options: Any) -> TokenProvider:
    settings: dict[str, Any] = {"token_url": fake.token_url, "token_budget": None}
    settings.update(options)
    return TokenProvider(
        app.client_id, app.client_secret, "flex.community.members.read", **settings
    )


# -- 1. the secret rides on no exception ----------------------------------------------------------


def test_refused_connection_carries_no_request_in_the_chain(fake: FakeOfficeRND) -> None:
    closed = FakeOfficeRND()
    url = closed.token_url
    closed.stop()  # nothing listens there any more
    provider = TokenProvider("id", SECRET, "flex.community.members.read", token_url=url)
    with pytest.raises(TokenEndpointError) as info:
        provider.fetch_token()
    assert info.value.__context__ is None
    assert_no_secret_anywhere(info.value, SECRET)


def test_timed_out_token_request_carries_no_request_in_the_chain(
    fake: FakeOfficeRND, secret_app: App
) -> None:
    provider = provider_for(fake, secret_app, max_token_retries=0, token_timeout=(1.0, 0.2))
    fake.fail_next_token_requests(Fault.slow(1.0))
    with pytest.raises(TokenEndpointError) as info:
        provider.get_token()
    assert_no_secret_anywhere(info.value, SECRET)


def test_non_json_body_carries_no_decode_error_with_the_body(
    fake: FakeOfficeRND, secret_app: App
) -> None:
    fake.fail_next_token_requests(Fault.respond(200, f"not json {SECRET}", "text/plain"))
    with pytest.raises(TokenEndpointError) as info:
        provider_for(fake, secret_app).fetch_token()
    assert_no_secret_anywhere(info.value, SECRET)


# -- 2. echoed secrets are masked in every field and encoding -------------------------------------

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "percent": lambda s: quote(s, safe=""),
    "percent-lower": lambda s: quote(s, safe="").lower(),
    "form": quote_plus,
    "json": lambda s: json.dumps(s)[1:-1],
}
FIELDS: dict[str, Callable[[str], tuple[int, dict[str, Any]]]] = {
    "error": lambda echo: (400, {"error": f"client_secret={echo}"}),
    "error_description": lambda echo: (400, {"error": "x", "error_description": echo}),
    "token_type": lambda echo: (200, {"access_token": "a" * 40, "token_type": echo}),
    "expires_in": lambda echo: (200, {"access_token": "a" * 40, "expires_in": echo}),
    "field-name": lambda echo: (200, {echo: 1}),
    "5xx-body": lambda echo: (503, {"message": f"request was client_secret={echo}"}),
}


@pytest.mark.parametrize("encoding", ENCODINGS, ids=list(ENCODINGS))
@pytest.mark.parametrize("field", FIELDS, ids=list(FIELDS))
def test_an_echoed_secret_is_masked(
    fake: FakeOfficeRND,
    secret_app: App,
    field: str,
    encoding: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = ENCODINGS[encoding](SECRET)
    status, payload = FIELDS[field](echo)
    body = json.dumps(payload, ensure_ascii=False)
    if encoding == "json":  # the echo must stay escaped inside the JSON text
        body = body.replace(json.dumps(echo)[1:-1], echo)
    fake.fail_next_token_requests(Fault.respond(status, body), 3)
    with caplog.at_level(logging.DEBUG), pytest.raises(OfficeRNDAuthError) as info:
        provider_for(fake, secret_app, max_token_retries=1).get_token()
    assert_no_secret_anywhere(info.value, SECRET)
    logged = " ".join(r.getMessage() for r in caplog.records)
    for form in (SECRET, echo):
        assert form not in logged


# -- 3. the token endpoint cannot break us --------------------------------------------------------


def test_deep_nesting_is_our_error_also_through_requests(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, "flex.community.members.read",
        token_url=fake.token_url, api_url=fake.api_url, clock=clock,
    )  # fmt: skip
    fake.fail_next_token_requests(Fault.deeply_nested())
    with pytest.raises(TokenEndpointError):
        requests.get(fake.api_url + MEMBERS, auth=auth, timeout=10)
    fake.fail_next_token_requests(Fault.respond(400, "[" * 100_000))
    with pytest.raises(OfficeRNDAuthError):
        requests.get(fake.api_url + MEMBERS, auth=auth, timeout=10)


@pytest.mark.parametrize("bad", ["abc\ndef", "abc\r\n\tdef", "tok€n", "tok en", ""])
def test_a_token_with_bad_characters_is_never_cached(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, bad: str
) -> None:
    session = make_session()
    fake.fail_next_token_requests(Fault.bad_token_characters(bad))
    with pytest.raises(TokenEndpointError) as info:
        session.get("members")
    if bad.strip():
        assert bad not in str(info.value)
    assert session.provider.current_token() is None
    assert session.get("members").status_code == 200  # the next call fetches a good one


@pytest.mark.parametrize(
    "body",
    [
        '{"access_token": "' + "a" * 40 + '", "expires_in": NaN}',
        '{"access_token": "' + "a" * 40 + '", "expires_in": Infinity}',
        '{"access_token": "' + "a" * 40 + '", "expires_in": 1e400}',
        '{"access_token": "' + "a" * 40 + '", "expires_in": ' + "9" * 5000 + "}",
    ],
    ids=["nan", "infinity", "overflow", "5000-digits"],
)
def test_unusable_numbers_are_our_error(fake: FakeOfficeRND, app: App, body: str) -> None:
    fake.fail_next_token_requests(Fault.respond(200, body))
    provider = provider_for(fake, app)
    with pytest.raises(TokenEndpointError):
        provider.fetch_token()
    assert provider.current_token() is None


def test_non_utf8_body_is_our_error(fake: FakeOfficeRND, app: App) -> None:
    body = '{"access_token": "\udcff\udcfe", "expires_in": 3599}'
    fake.fail_next_token_requests(
        Fault.respond(200, body.encode("utf-8", "surrogateescape").decode("latin-1"))
    )
    with pytest.raises(TokenEndpointError):
        provider_for(fake, app).fetch_token()


# -- 4. every attempt and every fetch is bounded in total -----------------------------------------


def test_a_dripped_body_cannot_stretch_an_attempt(fake: FakeOfficeRND, app: App) -> None:
    provider = provider_for(fake, app, max_token_retries=0, token_timeout=(1.0, 0.5))
    fake.fail_next_token_requests(Fault.drip(0.05))  # ~190 bytes: ~10 s if read to the end
    started = time.monotonic()
    with pytest.raises(TokenEndpointError, match="too slowly"):
        provider.fetch_token()
    assert time.monotonic() - started < 3


def test_an_oversized_body_is_not_read(fake: FakeOfficeRND, app: App) -> None:
    fake.fail_next_token_requests(Fault.oversized(50_000_000))
    with pytest.raises(TokenEndpointError, match="64 KiB"):
        provider_for(fake, app).fetch_token()


def test_token_deadline_bounds_all_attempts(fake: FakeOfficeRND, app: App) -> None:
    waits: list[float] = []
    provider = provider_for(
        fake, app, token_timeout=(1.0, 0.3), token_deadline=0.5, backoff=0.5, sleep=waits.append
    )
    fake.fail_next_token_requests(Fault.slow(1.0), 3)
    with pytest.raises(TokenEndpointError):
        provider.get_token()
    assert fake.token_request_count == 1  # no retry could finish before the deadline
    assert waits == []


# -- 5. a 401 to a request that carried no token spends nothing -----------------------------------


def test_redirect_off_the_api_host_and_back_burns_no_budget(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    assert session.get("members").status_code == 200
    with FakeOfficeRND() as foreign:
        foreign.add_redirect("/bounce", fake.api_url + MEMBERS)
        fake.add_redirect("/api/v2/organizations/acme/away", foreign.url + "/bounce")
        for _ in range(6):
            response = session.get("away")
            assert response.status_code == 401  # it arrived without a token, as requests does
    assert fake.token_request_count == 1
    assert session.get("members").status_code == 200  # no RateLimitedError
    assert fake.token_request_count == 1


# -- 6. the file cache trusts no one --------------------------------------------------------------

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root"
)
NOBODY = 65534


def plant(directory: Path, key: str, access_token: str) -> Path:
    path = directory / f"{key}.json"
    token = Token(access_token, expires_at=4_000_000_000.0, obtained_at=1.0, scopes=frozenset())
    path.write_text(record_of(token))
    return path


@needs_root
def test_a_directory_of_another_user_is_refused(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, app: App, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    session = make_session(token_cache=FileTokenCache(shared))
    plant(shared, session.provider.key, "ATTACKER" + "0" * 32)
    os.chmod(shared / f"{session.provider.key}.json", 0o600)
    os.chown(shared / f"{session.provider.key}.json", NOBODY, NOBODY)
    os.chown(shared, NOBODY, NOBODY)
    with pytest.warns(TokenCacheWarning, match="another user"):
        response = session.get("members")
    assert response.status_code == 200
    assert fake.api_requests[-1].authorization != "Bearer ATTACKER" + "0" * 32


def test_a_group_writable_directory_is_refused(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Path
) -> None:
    shared = tmp_path / "open"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the point of the test
    session = make_session(token_cache=FileTokenCache(shared))
    plant(shared, session.provider.key, "PLANTED" + "0" * 33)
    os.chmod(shared / f"{session.provider.key}.json", 0o600)
    with pytest.warns(TokenCacheWarning, match="writable by group or others"):
        assert session.get("members").status_code == 200
    assert session.provider.current_token().access_token != "PLANTED" + "0" * 33  # type: ignore[union-attr]


@needs_root
def test_a_token_file_of_another_user_is_ignored_and_removed(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path
) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    session = make_session(token_cache=FileTokenCache(directory))
    planted = plant(directory, session.provider.key, "ATTACKER" + "1" * 32)
    os.chmod(planted, 0o600)
    os.chown(planted, NOBODY, NOBODY)
    with pytest.warns(TokenCacheWarning, match="another user"):
        assert session.get("members").status_code == 200
    assert fake.api_requests[-1].authorization != "Bearer ATTACKER" + "1" * 32
    assert planted.stat().st_uid == os.geteuid()  # replaced by our own


@pytest.mark.parametrize("mode", [0o644, 0o620, 0o604])
def test_a_token_file_open_to_others_is_ignored(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path, mode: int
) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    session = make_session(token_cache=FileTokenCache(directory))
    planted = plant(directory, session.provider.key, "OPEN" + "2" * 36)
    os.chmod(planted, mode)
    with pytest.warns(TokenCacheWarning, match="lets others"):
        assert session.get("members").status_code == 200
    assert fake.api_requests[-1].authorization != "Bearer OPEN" + "2" * 36
    assert stat.S_IMODE(planted.stat().st_mode) == 0o600


def test_a_linked_token_file_is_not_followed(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, tmp_path: Path
) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    session = make_session(token_cache=FileTokenCache(directory))
    target = plant(elsewhere, session.provider.key, "LINKED" + "3" * 34)
    os.chmod(target, 0o600)
    (directory / f"{session.provider.key}.json").symlink_to(target)
    with pytest.warns(TokenCacheWarning):
        assert session.get("members").status_code == 200
    assert fake.api_requests[-1].authorization != "Bearer LINKED" + "3" * 34


def test_missing_parents_are_private_whatever_the_umask(
    make_session: Callable[..., OfficeRNDSession], tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        directory = tmp_path / "a" / "b" / "c"
        session = make_session(token_cache=FileTokenCache(directory))
        assert session.get("members").status_code == 200
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", directory):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


# -- 7. one budget per token URL, however it is spelt ---------------------------------------------


def test_budget_and_cache_key_use_the_normalised_token_url(fake: FakeOfficeRND, app: App) -> None:
    fake.rate_limit = None
    base = fake.token_url
    spellings = [
        base,
        base.replace("http://", "HTTP://"),
        base + "?",
        base.replace("127.0.0.1", "127.0.0.1"),
    ]
    providers = [
        TokenProvider(app.client_id, app.client_secret, "flex.community.members.read", token_url=u)
        for u in spellings
    ]
    assert len({p.token_url for p in providers}) == 1
    assert len({p.key for p in providers}) == 1
    outcomes = []
    for _ in range(2):
        for provider in providers:
            try:
                provider.fetch_token()
                outcomes.append("sent")
            except RateLimitedError:
                outcomes.append("refused")
    assert outcomes.count("sent") == 5
    assert fake.token_request_count == 5
    assert cache_key(providers[0].token_url, "a", "b", ["c"]) == cache_key(
        providers[1].token_url, "a", "b", ["c"]
    )


# -- 8. smaller -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://:S3CRETPW@127.0.0.1:1/0",
        "redis://user:S3CRETPW@127.0.0.1:1/0",
        "redis://127.0.0.1:1/0?password=S3CRETPW",
        "rediss://127.0.0.1:1?db=0&password=S3CRETPW",
        "unix:///tmp/redis.sock?password=S3CRETPW",
        "redis://127.0.0.1:1/0?p%61ssword=S3CRETPW",  # percent-encoded name (issue 24)
        "redis://127.0.0.1:1/0?db=0&PASSWORD=S3CRETPW",
    ],
)
def test_redis_cache_repr_shows_no_password(url: str) -> None:
    pytest.importorskip("redis")
    from officernd_auth.cache import RedisTokenCache

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = repr(RedisTokenCache(url))
    assert "S3CRETPW" not in text
    assert "***" in text
