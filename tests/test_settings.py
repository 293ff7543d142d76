"""Settings: resolved once, every problem reported in one error, the environment read in one
module, every default written once."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from officernd_auth import ConfigurationError, OfficeRNDAuth, OfficeRNDSession, TokenProvider
from officernd_auth.core.settings import (
    DEFAULT_LEEWAY,
    ENVIRONMENT,
    Settings,
    environment_value,
    resolve_settings,
)

PACKAGE = Path(__file__).resolve().parent.parent / "officernd_auth"


@pytest.fixture
def empty_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.usefixtures("empty_environment")
def test_a_session_with_nothing_configured_names_every_missing_setting_at_once() -> None:
    with pytest.raises(ConfigurationError) as info:
        OfficeRNDSession()
    message = str(info.value)
    for name in ("client_id", "client_secret", "scope", "org"):
        assert f"{name}=..." in message, name
        assert ENVIRONMENT[name] in message, name


@pytest.mark.usefixtures("empty_environment")
def test_the_auth_object_names_every_missing_setting_at_once() -> None:
    with pytest.raises(ConfigurationError) as info:
        OfficeRNDAuth(client_id="id-12345678")
    message = str(info.value)
    assert "client_secret" in message
    assert "scope" in message
    assert "client_id" not in message.replace("client_id-", "")  # it was given


def test_every_unusable_option_is_reported_with_the_others() -> None:
    with pytest.raises(ConfigurationError) as info:
        TokenProvider(
            "id",
            "secret",
            "officernd.api.read",
            leeway=-1,
            token_budget=0,
            token_url="ftp://example.com/token",
            api_version="v3",
        )
    message = str(info.value)
    for name in ("leeway", "token_budget", "token_url", "api_version"):
        assert name in message, name


def test_the_provider_reads_no_credential_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OFFICERND_CLIENT_ID", "from-the-environment")
    with pytest.raises(ConfigurationError, match="client_id") as info:
        TokenProvider(None, "secret", "officernd.api.read")  # type: ignore[arg-type]
    assert "OFFICERND_CLIENT_ID" not in str(info.value)  # it would not be read: not advised


def test_settings_are_a_frozen_value_that_never_shows_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OFFICERND_CLIENT_SECRET", "s3cr3t-from-env")
    settings = resolve_settings("client-12345678", None, "officernd.api.read", leeway=5)
    assert settings.client_secret == "s3cr3t-from-env"
    assert "s3cr3t" not in repr(settings)
    assert settings.leeway == 5.0
    with pytest.raises(AttributeError):
        settings.leeway = 6  # type: ignore[misc]
    provider = TokenProvider.from_settings(settings)
    assert provider.settings is settings
    assert provider.leeway == 5.0


def test_environment_values_are_stripped_and_blank_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OFFICERND_ORG", "  acme \n")
    monkeypatch.setenv("OFFICERND_SCOPE", "   ")
    assert environment_value("org") == "acme"
    assert environment_value("scope") is None
    assert environment_value("org", {}) is None


def _package_sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in PACKAGE.rglob("*.py")]


def test_the_environment_is_read_in_one_module() -> None:
    readers = set()
    for path, tree in _package_sources():
        for node in ast.walk(tree):
            # os.environ / os.getenv / a bare getenv (settings.py passes a mapping named
            # environ around: that is not a read of the process's environment)
            if (isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}) or (
                isinstance(node, ast.Name) and node.id == "getenv"
            ):
                readers.add(path.relative_to(PACKAGE).as_posix())
    assert readers == {"values/environment.py"}


def test_the_leeway_default_is_written_once() -> None:
    assert inspect.signature(Settings).parameters["leeway"].default == DEFAULT_LEEWAY
    literal_defaults = []
    for path, tree in _package_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.arguments):
                names = [a.arg for a in node.args + node.kwonlyargs]
                defaults = [None] * (len(node.args) - len(node.defaults)) + list(node.defaults)
                defaults += list(node.kw_defaults)
                literal_defaults += [
                    f"{path.name}:{default.lineno}"
                    for name, default in zip(names, defaults, strict=True)
                    # 0 is "no leeway" (Token.is_expired's plain expiry), not a default of it
                    if name == "leeway" and isinstance(default, ast.Constant) and default.value
                ]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "leeway"
                and len(node.args) > 1
            ):
                literal_defaults.append(f"{path.name}:{node.lineno}")
    assert literal_defaults == []
