"""Property tests: whatever comes in, only the documented outcomes come out."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from officernd_auth import OfficeRNDAuthError, OfficeRNDSession, ScopeError
from officernd_auth.cache import MemoryTokenCache
from officernd_auth.core.client import TokenClient
from officernd_auth.core.scopes import parse_scopes
from officernd_auth.provider import TokenProvider
from officernd_auth.testing import FakeOfficeRND, Fault

SCOPES = ("flex.community.members.read",)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
token_like = st.fixed_dictionaries(
    {},
    optional={
        "access_token": json_values | st.text(min_size=1, max_size=50),
        "token_type": st.sampled_from(["Bearer", "bearer", "mac", ""]) | json_values,
        "expires_in": json_values | st.integers(-10, 10**13) | st.text(max_size=8),
        "scope": json_values | st.just("flex.community.members.read"),
        "error": json_values | st.sampled_from(["invalid_client", "invalid_scope", "x"]),
        "error_description": json_values,
    },
)
bodies = (
    token_like.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
)
statuses = st.integers(200, 599)


@settings(max_examples=400, deadline=None)
@given(status=statuses, body=bodies, retry_after=st.none() | st.text(max_size=8))
def test_any_token_response_parses_or_raises_ours(
    status: int, body: str, retry_after: str | None
) -> None:
    client = TokenClient("https://identity.officernd.com/oauth/token", "id", "S3CR3T-fuzz")
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    try:
        token = client.parse_response(status, headers, body, SCOPES, now=1000.0)
    except OfficeRNDAuthError as exc:
        error: OfficeRNDAuthError | None = exc
    else:
        error = None
    if error is not None:
        assert "S3CR3T-fuzz" not in str(error)
        return
    assert status == 200
    assert token.access_token
    assert token.expires_at > 1000.0


FUZZ_SECRET = 'S3cr/et+ "x"&y=%z'
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
secret_echoes = st.sampled_from(
    [
        FUZZ_SECRET,
        quote(FUZZ_SECRET, safe=""),
        quote(FUZZ_SECRET, safe="").lower(),
        quote_plus(FUZZ_SECRET),
        json.dumps(FUZZ_SECRET)[1:-1],
    ]
)
hostile_text = st.text(max_size=30) | secret_echoes | st.sampled_from(["\n", "\r\n\t", "€", "\x00"])
hostile_fields = st.fixed_dictionaries(
    {},
    optional={
        "access_token": hostile_text | st.just("a" * 40),
        "token_type": hostile_text | st.just("Bearer"),
        "expires_in": hostile_text | st.integers(-10, 10**6) | st.floats(allow_nan=True),
        "scope": hostile_text | st.just("flex.community.members.read"),
        "error": hostile_text,
        "error_description": hostile_text,
    },
).flatmap(
    lambda fields: st.dictionaries(hostile_text, hostile_text, max_size=2).map(
        lambda extra: {**extra, **fields}
    )
)
whole_bodies = (
    hostile_fields.map(lambda d: json.dumps(d, ensure_ascii=False))
    | hostile_fields.map(json.dumps)
    | st.integers(1, 200_000).map(lambda n: "[" * n)
    | st.integers(1, 100_000).map(lambda n: '{"access_token": "' + "a" * n + '"}')
    | bodies
)


def _chain(exc: BaseException) -> list[BaseException]:
    links, current = [], exc
    while current is not None and len(links) < 10:
        links.append(current)
        current = current.__cause__ or current.__context__  # type: ignore[assignment]
    return links


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=statuses, body=whole_bodies)
def test_any_token_response_over_http(status: int, body: str) -> None:
    """Whole hostile answers over real HTTP: only our errors escape, nothing unusable is
    cached, and the secret is in no exception (whole chain), log record or attribute."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("officernd_auth")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with FakeOfficeRND(rate_limit=None) as fake:
            app = fake.add_app(SCOPES, client_secret=FUZZ_SECRET)
            provider = TokenProvider(
                app.client_id,
                app.client_secret,
                SCOPES,
                token_url=fake.token_url,
                max_token_retries=0,
                token_budget=None,
                token_cache=MemoryTokenCache(),
            )
            fake.fail_next_token_requests(Fault.respond(status, body, "text/plain"))
            try:
                provider.fetch_token()
            except OfficeRNDAuthError as exc:
                for link in _chain(exc):
                    assert not isinstance(link, requests.RequestException)
                    text = f"{link} {link!r} {vars(link)!r}"
                    assert FUZZ_SECRET not in text
                    assert quote(FUZZ_SECRET, safe="") not in text
                    assert quote_plus(FUZZ_SECRET) not in text
                    assert json.dumps(FUZZ_SECRET)[1:-1] not in text
            token = provider.current_token()
            if token is not None:
                assert B64TOKEN.fullmatch(token.access_token)
                assert token.expires_at > token.obtained_at
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    for record in records:
        message = record.getMessage()
        assert FUZZ_SECRET not in message
        assert quote(FUZZ_SECRET, safe="") not in message


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.lists(st.text(max_size=30), max_size=5))
def test_any_scope_input_gives_scopes_or_scope_error(value: Any) -> None:
    try:
        scopes = parse_scopes(value)
    except ScopeError:
        return
    assert scopes
    assert len(set(scopes)) == len(scopes)
    for scope in scopes:
        assert scope.strip() == scope
        assert " " not in scope
        assert "," not in scope


@pytest.fixture(scope="module")
def offline_session() -> OfficeRNDSession:
    # Its own cache: the plugin empties the process-wide one before every test.
    session = OfficeRNDSession(
        "id", "secret", "flex.community.members.read", org="acme", token_cache=MemoryTokenCache()
    )
    session.token = {"access_token": "f" * 40, "expires_in": 3599}  # no network needed
    return session


path_chars = st.sampled_from([*"abc/.%2fF5Ce?#@:\\", "..", "//", "%2e", "%2F", "evil.example"])
paths = st.lists(path_chars, max_size=12).map("".join)
urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}{path}",
    st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    st.sampled_from(
        [
            "app.officernd.com",
            "evil.example",
            "app.officernd.com.evil",
            "evil.example@app.officernd.com",
            "app.officernd.com:8443",
            "APP.officernd.com",
        ]
    ),
    paths,
)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(paths, urls))
def test_paths_resolve_inside_or_go_out_without_a_token(
    offline_session: OfficeRNDSession, target: str
) -> None:
    try:
        url = offline_session.url_for(target)
        prepared = offline_session.prepare_request(requests.Request("GET", url))
    except (ValueError, requests.RequestException):
        return  # refused before anything was sent
    sent_to = requests.utils.urlparse(prepared.url)
    if "Authorization" in prepared.headers:
        assert sent_to.scheme == "https"
        assert sent_to.hostname == "app.officernd.com"
        assert sent_to.port in (None, 443)
        if not (target.lower().startswith(("http://", "https://"))):
            assert prepared.path_url.startswith("/api/v2/organizations/acme/")
            assert "/../" not in sent_to.path  # a query string may hold anything
    else:
        assert (
            sent_to.hostname != "app.officernd.com"
            or sent_to.scheme != "https"
            or (sent_to.port not in (None, 443))
        )


def _go_json(text: str) -> str:
    """Go's encoding/json: <, > and & as \\u003c, \\u003e, \\u0026."""
    escaped = json.dumps(text)[1:-1]
    return escaped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _upper_json(text: str) -> str:
    """JSON escapes with upper-case hex digits (\\u00E4), as some servers write them."""
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), json.dumps(text)[1:-1])


#: How servers echo a secret they were sent (issue 24): each must be masked by scrub().
ECHOES = {
    "raw": lambda s: s,
    "encodeURIComponent": lambda s: quote(s, safe="-_.!~*'()"),
    "PHP urlencode": lambda s: quote_plus(s, safe="-_."),
    "percent, upper": lambda s: quote(s, safe=""),
    "percent, lower": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(s, safe="")),
    "JSON": lambda s: json.dumps(s)[1:-1],
    "JSON, not ASCII": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "Go JSON": _go_json,
    "JSON, upper-case hex": _upper_json,
    "Python repr": lambda s: repr(s)[1:-1],
}


@pytest.mark.parametrize("echo", sorted(ECHOES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=0x24F, exclude_characters="*"),
        min_size=8,
        max_size=24,
    ),
    before=st.text(alphabet="abc :={}\"'", max_size=12),
)
def test_a_secret_is_masked_however_it_is_echoed(echo: str, secret: str, before: str) -> None:
    from officernd_auth.values.redact import scrub

    shown = scrub(f'{before}"client_secret": "{ECHOES[echo](secret)}" and more', (secret,))
    for name, encode in ECHOES.items():
        assert encode(secret) not in shown, (name, shown)
