"""One owner of configuration: the provider declares, validates and documents every option once,
and both front ends accept exactly those options, by the same names, with the same effect."""

from __future__ import annotations

import ast
import inspect
import logging
import pydoc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import requests

from officernd_auth import (
    ConfigurationError,
    OfficeRNDAuth,
    OfficeRNDSession,
    ScopeError,
    Token,
    TokenProvider,
)
from officernd_auth.cache import BaseTokenCache, MemoryTokenCache, TokenCache
from officernd_auth.core.settings import OPTION_NAMES, ProviderOptions
from officernd_auth.provider import resolve_provider
from officernd_auth.testing import App, FakeClock, FakeOfficeRND

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = "/api/v2/organizations/acme/members"

#: A valid, non-default value for every provider option, and how to read it back.
SAMPLE_VALUES: dict[str, tuple[Any, Callable[[TokenProvider], Any]]] = {
    "token_url": ("https://identity-staging.officernd.com/oauth/token", lambda p: p.token_url),
    "api_version": ("v2", lambda p: p.api_version),
    "leeway": (12.0, lambda p: p.leeway),
    "token_cache": (MemoryTokenCache(), lambda p: p.token_cache),
    "clock": (FakeClock(5.0), lambda p: p.clock),
    "token_budget": (3, lambda p: p.token_budget),
    "budget_window": (10.0, lambda p: p.budget_window),
    "max_token_retries": (4, lambda p: p.max_token_retries),
    "backoff": (0.25, lambda p: p.backoff),
    "strict_scopes": (False, lambda p: p.strict_scopes),
    "token_timeout": ((1.0, 2.0), lambda p: p.token_timeout),
    "token_deadline": (20.0, lambda p: p.token_deadline),
    "verify": ("ca.pem", lambda p: p.verify),
    "cert": (("c.pem", "k.pem"), lambda p: p.cert),
    "proxies": ({"https": "http://proxy:3128"}, lambda p: p.proxies),
    "sleep": (print, lambda p: p.sleep),
}
CREDENTIALS = ("id-12345678", "secret", "flex.community.members.read")


def test_every_option_has_a_sample_and_one_declaration() -> None:
    assert set(SAMPLE_VALUES) == OPTION_NAMES == set(ProviderOptions.__annotations__)


@pytest.mark.parametrize("front_end", [OfficeRNDSession, OfficeRNDAuth, TokenProvider])
def test_front_ends_accept_exactly_the_provider_options(front_end: type) -> None:
    for name, (value, read) in SAMPLE_VALUES.items():
        made = front_end(*CREDENTIALS, **{name: value})
        provider = made if isinstance(made, TokenProvider) else made.provider
        assert read(provider) == value, name
    with pytest.raises(TypeError, match="max_retries"):
        front_end(*CREDENTIALS, max_retries=3)


def test_front_end_signatures_declare_only_their_own_options() -> None:
    own = {
        OfficeRNDSession: {
            "org",
            "api_url",
            "timeout",
            "max_rate_limit_retries",
            "max_retry_after",
            # OAuth2Session's own keywords that apply to client credentials
            "client",
            "token",
            "token_updater",
        },
        OfficeRNDAuth: {"api_url", "allowed_hosts", "session"},
    }
    for cls, expected in own.items():
        parameters = inspect.signature(cls.__init__).parameters
        keyword_only = {
            name for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        assert keyword_only == expected | {"provider"}
        assert not keyword_only & OPTION_NAMES
        assert "ProviderOptions" in str(parameters["options"].annotation)


def test_the_provider_validates_its_own_input() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        TokenProvider("id", "secret", "officernd.api.read", token_url="ftp://x")
    with pytest.raises(ScopeError):
        TokenProvider("id", "secret", ["not a scope,x"])
    with pytest.raises(ConfigurationError, match="leeway"):
        TokenProvider("id", "secret", "officernd.api.read", leeway=-1)
    with pytest.raises(ConfigurationError, match="token_budget"):
        TokenProvider("id", "secret", "officernd.api.read", token_budget=0)
    with pytest.raises(ConfigurationError, match="token_timeout"):
        TokenProvider("id", "secret", "officernd.api.read", token_timeout=(1, 2, 3))  # type: ignore[typeddict-item]
    with pytest.raises(ConfigurationError, match="api_version"):
        TokenProvider("id", "secret", "officernd.api.read", api_version="v3")
    with pytest.raises(ConfigurationError, match="client_secret"):
        TokenProvider("id", "", "officernd.api.read")


def test_environment_is_read_by_resolve_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICERND_CLIENT_ID", "env-id")
    monkeypatch.setenv("OFFICERND_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("OFFICERND_SCOPE", "officernd.api.read")
    monkeypatch.setenv("OFFICERND_TOKEN_URL", "https://identity-staging.officernd.com/oauth/token")
    provider = resolve_provider()
    assert (provider.client_id, provider.scopes) == ("env-id", ("officernd.api.read",))
    assert provider.token_url.startswith("https://identity-staging.")
    with pytest.raises(ConfigurationError):  # the provider itself reads no environment
        TokenProvider(None, None, None)  # type: ignore[arg-type]


def test_provider_is_shared_or_settings_are_given_never_both() -> None:
    provider = TokenProvider(*CREDENTIALS)
    session = OfficeRNDSession(provider=provider, org="acme")
    auth = OfficeRNDAuth(provider=provider)
    assert session.provider is provider is auth.provider
    with pytest.raises(ConfigurationError, match="leeway"):
        OfficeRNDAuth(provider=provider, leeway=5)
    with pytest.raises(ConfigurationError, match="client_id"):
        OfficeRNDSession("other", provider=provider)


def test_session_accepts_transport_and_budget_options() -> None:
    session = OfficeRNDSession(*CREDENTIALS, verify="ca.pem", budget_window=10, org="acme")
    assert session.provider.verify == "ca.pem"
    assert session.provider.budget_window == 10


def test_authorized_and_repr_agree(
    make_session: Callable[..., OfficeRNDSession], clock: FakeClock
) -> None:
    session = make_session(leeway=60)
    session.token = {"access_token": "a" * 40, "expires_in": 3599}
    assert session.authorized
    assert "token=valid for 59 min" in repr(session)
    clock.advance(3599 - 30)  # inside the leeway: the next call renews
    assert not session.authorized
    assert session.provider.status().state == "renewing"
    assert "token=renewing (expires in 30 s)" in repr(session)
    clock.advance(31)
    assert "token=expired" in repr(session)


def test_token_dicts_are_seeded_by_the_provider(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    session = make_session()
    token = session.provider.seed({"access_token": "c" * 40, "expires_in": 100, "scope": "x y"})
    assert session.provider.current_token() == token
    assert token.scopes == frozenset({"x", "y"})
    with pytest.raises(ConfigurationError, match="access_token"):
        session.token = {"expires_in": 3599}
    with pytest.raises(ConfigurationError, match="expires_in"):
        session.token = {"access_token": "d" * 40, "expires_in": "soon"}


def test_help_shows_our_constructor_documentation() -> None:
    for cls in (OfficeRNDSession, OfficeRNDAuth, TokenProvider):
        text = pydoc.render_doc(cls)
        assert "redirect_uri" not in text
        assert "WebApplicationClient" not in text
        for name in OPTION_NAMES:
            assert f"{name}:" in (cls.__doc__ or ""), (cls, name)
    assert "org: the organisation slug" in pydoc.render_doc(OfficeRNDSession)
    assert "see the class documentation" in (inspect.getdoc(OfficeRNDSession.__init__) or "")


def test_auth_api_url_allows_that_origin_exactly(
    fake: FakeOfficeRND, app: App, clock: FakeClock
) -> None:
    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, "flex.community.members.read",
        token_url=fake.token_url, api_url=fake.api_url, clock=clock,
    )  # fmt: skip
    assert requests.get(fake.api_url + MEMBERS, auth=auth, timeout=5).status_code == 200
    assert auth.allows(f"http://{fake.host}:{fake.port}/x")
    assert not auth.allows(f"https://{fake.host}:{fake.port}/x")  # another scheme
    assert not auth.allows(f"http://{fake.host}:{fake.port + 1}/x")  # another port
    assert not auth.allows(f"http://{fake.host}/x")  # the default port
    assert auth.allows("https://app.officernd.com/api")  # OfficeRND's hosts stay allowed


def test_a_withheld_token_and_a_401_say_how_to_allow_the_origin(
    fake: FakeOfficeRND, app: App, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    auth = OfficeRNDAuth(
        app.client_id, app.client_secret, "flex.community.members.read",
        token_url=fake.token_url, clock=clock,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="officernd_auth"):
        for _ in range(3):
            assert requests.get(fake.api_url + MEMBERS, auth=auth, timeout=5).status_code == 401
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per origin
    assert f"api_url='http://{fake.host}:{fake.port}'" in warnings[0]
    assert f"allowed_hosts=['{fake.host}:{fake.port}']" in warnings[0]
    assert fake.token_request_count == 0
    assert not any(token in warnings[0] for token in fake.issued_tokens())


class DictCache(BaseTokenCache):
    """A user's own backend: three methods, the rest from the base class."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}

    def get(self, key: str) -> Token | None:
        return self.tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    def delete(self, key: str) -> None:
        self.tokens.pop(key, None)


class IncompleteCache:
    def get(self, key: str) -> Token | None:
        return None

    def set(self, key: str, token: Token) -> None:
        pass

    def delete(self, key: str) -> None:
        pass


def test_cache_contract_is_whole(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    cache = DictCache()
    assert isinstance(cache, TokenCache)
    session = make_session(token_cache=cache)
    assert session.get("members").status_code == 200
    assert session.get("members").status_code == 200
    assert len(cache.tokens) == 1
    assert fake.token_request_count == 1
    fake.expire_tokens()
    assert session.get("members").status_code == 200  # 401 -> discard -> one new token
    assert fake.token_request_count == 2
    lock: AbstractContextManager[None] = cache.lock("k")
    with lock:
        pass
    with pytest.raises(ConfigurationError, match="BaseTokenCache"):
        make_session(token_cache=IncompleteCache())


def test_caches_are_stores_that_know_no_leeway_or_clock() -> None:
    pytest.importorskip("redis")
    from officernd_auth.cache import FileTokenCache, RedisTokenCache

    for cache_class in (MemoryTokenCache, FileTokenCache, RedisTokenCache):
        parameters = inspect.signature(cache_class).parameters
        assert not {"leeway", "clock"} & set(parameters), cache_class


def test_the_provider_alone_decides_freshness_over_a_shared_cache(
    fake: FakeOfficeRND, app: App, clock: FakeClock, tmp_path: Path
) -> None:
    def provider(leeway: float) -> TokenProvider:
        return TokenProvider(
            app.client_id,
            app.client_secret,
            "flex.community.members.read",
            token_url=fake.token_url,
            token_cache=str(tmp_path),
            clock=clock,
            leeway=leeway,
        )

    patient, eager = provider(leeway=10), provider(leeway=1000)
    first = patient.get_token()
    clock.advance(first.lifetime - 1000)  # inside eager's leeway, outside patient's
    assert patient.get_token() is first
    assert eager.get_token() != first  # the same file, another provider's rule
    assert fake.token_request_count == 2


ALLOWED_PRIVATE = {
    "_repr_html_",  # IPython's display protocol
    "_cookies",  # requests' PreparedRequest, as requests' own HTTPDigestAuth uses it
    "_content",  # requests' Response, how a canned adapter builds one
    "_replace",  # namedtuple's public API
    # argparse has no public way to list a parser's arguments (tests/cli/test_main.py checks that
    # every one has help text)
    "_actions",
    "_choices_actions",
    "_SubParsersAction",
    "_HelpAction",
    "_VersionAction",
}


def _sources() -> Iterator[Path]:
    for folder in ("officernd_auth", "tests", "benchmarks"):
        yield from (ROOT / folder).rglob("*.py")


def test_no_module_reads_another_objects_private_attributes() -> None:
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in ALLOWED_PRIVATE
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert found == []
