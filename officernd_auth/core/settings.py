"""Settings: every option and default written once, the only reader of the ``OFFICERND_*``
environment, and :class:`Settings`, the frozen value that the provider, the session, the auth
object and the CLI are built from.

:func:`resolve_settings` turns arguments (and, where asked, the environment) into one validated
:class:`Settings`, reporting every missing or unusable setting in one
:class:`~officernd_auth.errors.ConfigurationError`. This module imports nothing heavy (not
requests, not oauthlib): the CLI's cached-token path reads its settings with it alone.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from ..values.environment import DEFAULT_LEEWAY, DEFAULT_TOKEN_URL, ENVIRONMENT, environment_value
from ..values.records import mask_client_id
from ..values.redact import Secret
from ..values.token import Clock, system_clock
from ..values.urls import check_url, normalise_url

if TYPE_CHECKING:
    from ..cache.base import TokenCache
    from ..values.errors import ConfigurationError

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_LEEWAY",
    "DEFAULT_TOKEN_URL",
    "ENVIRONMENT",
    "OPTION_NAMES",
    "ProviderOptions",
    "Settings",
    "environment_value",
    "resolve_settings",
]

_Documented = TypeVar("_Documented")

DEFAULT_API_URL = "https://app.officernd.com"
#: OfficeRND's documented limit: 5 token requests a minute per application, failures included.
DEFAULT_TOKEN_BUDGET = 5
DEFAULT_BUDGET_WINDOW = 60.0
DEFAULT_MAX_TOKEN_RETRIES = 2
DEFAULT_BACKOFF = 0.5
DEFAULT_TOKEN_TIMEOUT: tuple[float, float] = (5.0, 30.0)
DEFAULT_TOKEN_DEADLINE = 60.0


class ProviderOptions(TypedDict, total=False):
    """Every option of a :class:`~officernd_auth.provider.TokenProvider`, declared once.

    ``OfficeRNDSession``, ``OfficeRNDAuth``, ``TokenProvider`` and ``resolve_provider`` take
    these as keyword arguments under these names; a name not listed here is a ``TypeError``.
    Each is validated once, by :func:`~officernd_auth.core.settings.resolve_settings`; what each
    means and its default is in the ``Args`` of the classes that take them.
    """

    token_url: str | None
    api_version: str | None
    leeway: float
    token_cache: TokenCache | str | os.PathLike[str] | None
    clock: Clock
    token_budget: int | None
    budget_window: float
    max_token_retries: int
    backoff: float
    strict_scopes: bool
    token_timeout: float | tuple[float, float]
    token_deadline: float
    verify: bool | str
    cert: str | tuple[str, str] | None
    proxies: Mapping[str, str] | None
    sleep: Callable[[float], None]


OPTION_NAMES: frozenset[str] = ProviderOptions.__optional_keys__

#: What every provider option means, by name (the ``Args:`` entries of the front ends).
OPTION_DOCS: Mapping[str, str] = {
    "token_url": "the token endpoint (``OFFICERND_TOKEN_URL``, else OfficeRND's); https, or "
    "http on a loopback host only.",
    "api_version": '``"v1"`` or ``"v2"``: check that the scopes fit that API (``None`` skips '
    "the check).",
    "leeway": f"renew the token this many seconds before it expires (default "
    f"{DEFAULT_LEEWAY:g}; clamped to half the token's lifetime).",
    "token_cache": "where tokens are kept: a :class:`~officernd_auth.cache.TokenCache`, a "
    "directory for a ``FileTokenCache``, or a ``redis://`` URL for a ``RedisTokenCache``. "
    "Default: ``$OFFICERND_TOKEN_CACHE`` if set, else the process-wide memory cache.",
    "clock": "returns the time as seconds since the epoch (default ``time.time``; tests pass a "
    "fake clock).",
    "token_budget": f"most token requests per ``budget_window`` (default "
    f"{DEFAULT_TOKEN_BUDGET}, as OfficeRND allows); ``None`` for no limit.",
    "budget_window": f"the rolling window of the token budget, in seconds (default "
    f"{DEFAULT_BUDGET_WINDOW:g}).",
    "max_token_retries": "how often a 5xx or transport failure of the token endpoint is "
    f"retried, with exponential backoff and jitter, inside the budget (default "
    f"{DEFAULT_MAX_TOKEN_RETRIES}).",
    "backoff": f"base of that backoff, in seconds (default {DEFAULT_BACKOFF:g}).",
    "strict_scopes": "raise :class:`~officernd_auth.errors.ScopeNotGrantedError` when fewer "
    "scopes are granted than requested (default); ``False`` warns and uses the token.",
    "token_timeout": "``(connect, read)`` seconds for one token request (default "
    f"{DEFAULT_TOKEN_TIMEOUT}); the whole answer must arrive within the read timeout, however "
    "slowly it drips.",
    "token_deadline": "seconds that getting a token may take in all, waiting for another "
    f"thread's request, retries and backoff included (default {DEFAULT_TOKEN_DEADLINE:g}); a "
    "call's own shorter ``timeout`` bounds it further.",
    "verify": "TLS verification of the token request, as for ``requests`` (default True, or "
    "``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from the environment).",
    "cert": "a client certificate for the token request (mutual TLS): a path, or a "
    "``(cert, key)`` pair.",
    "proxies": "proxies for the token request by scheme, as for ``requests`` (default: the "
    "``HTTPS_PROXY`` / ``NO_PROXY`` environment). An ``OfficeRNDSession`` sends its token "
    "requests through itself instead, with its own ``verify``, ``cert`` and ``proxies``.",
    "sleep": "how to wait between retries (default ``time.sleep``; tests pass a recorder).",
}


def with_provider_options(obj: _Documented) -> _Documented:
    """Put one ``Args:`` entry per provider option (from :data:`OPTION_DOCS`) where ``obj``'s
    docstring has the line ``{provider_options}``, so ``help()`` shows each option where it is
    accepted, written once."""
    lines = []
    for line in (obj.__doc__ or "").splitlines():
        if line.strip() == "{provider_options}":
            indent = line[: len(line) - len(line.lstrip())]
            lines += [f"{indent}{name}: {text}" for name, text in OPTION_DOCS.items()]
        else:
            lines.append(line)
    if obj.__doc__:
        obj.__doc__ = "\n".join(lines) + "\n"
    return obj


def check_option_names(options: Mapping[str, object], where: str) -> None:
    """Raise ``TypeError`` naming any keyword that is not a provider option."""
    unknown = options.keys() - OPTION_NAMES
    if unknown:
        raise TypeError(
            f"{where} got unexpected keyword argument(s) {', '.join(sorted(unknown))}; the "
            f"provider options are: {', '.join(sorted(OPTION_NAMES))}"
        )


#: The proxies of settings made without any: one empty dict, not one per provider (nothing
#: changes it: requests copies an empty ``proxies`` before adding the environment's).
_NO_PROXIES: dict[str, str] = {}


def read_only_setting(name: str) -> Any:
    """A read-only property for the setting ``name`` of the object's ``settings``: a provider
    keeps its :class:`Settings` once instead of copying each value (memory per tenant)."""

    def refuse(instance: object, value: object) -> None:
        raise AttributeError(
            f"{type(instance).__name__}.{name} is read-only: it is one of the settings the "
            "object was made with (make another with the option you want)"
        )

    return property(attrgetter(f"settings.{name}"), refuse, doc=f"The ``{name}`` setting.")


#: Every setting, in the order :class:`Settings` takes them.
_FIELDS = (
    "client_id", "client_secret", "scopes", "token_url", "api_version", "leeway", "token_cache",
    "clock", "token_budget", "budget_window", "max_token_retries", "backoff", "strict_scopes",
    "token_timeout", "token_deadline", "verify", "cert", "proxies", "sleep",
)  # fmt: skip


class Settings:
    """Everything a token provider needs, validated, with every default applied. Read-only.

    Made by :func:`resolve_settings`; never holds an unchecked value. The client secret is kept
    out of ``repr``. ``token_cache`` is as given (an object, a path, a URL or ``None``): the
    provider turns it into a cache.
    """

    # A plain class with slots, not a dataclass: importing dataclasses (and inspect) costs
    # more than the rest of the package (benchmarks, start-up table).
    __slots__ = _FIELDS

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    token_url: str
    api_version: str | None
    leeway: float
    token_cache: Any
    clock: Clock
    token_budget: int | None
    budget_window: float
    max_token_retries: int
    backoff: float
    strict_scopes: bool
    token_timeout: float | tuple[float, float]
    token_deadline: float
    verify: bool | str
    cert: str | tuple[str, str] | None
    proxies: Mapping[str, str]
    sleep: Callable[[float], None]

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: tuple[str, ...],
        token_url: str = DEFAULT_TOKEN_URL,
        api_version: str | None = None,
        leeway: float = DEFAULT_LEEWAY,
        token_cache: Any = None,
        clock: Clock = system_clock,
        token_budget: int | None = DEFAULT_TOKEN_BUDGET,
        budget_window: float = DEFAULT_BUDGET_WINDOW,
        max_token_retries: int = DEFAULT_MAX_TOKEN_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        strict_scopes: bool = True,
        token_timeout: float | tuple[float, float] = DEFAULT_TOKEN_TIMEOUT,
        token_deadline: float = DEFAULT_TOKEN_DEADLINE,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        values = dict(locals())
        values["proxies"] = _NO_PROXIES if proxies is None else proxies
        for name in _FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Settings are read-only: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_settings, ({name: getattr(self, name) for name in _FIELDS},))

    def __repr__(self) -> str:
        return (
            f"Settings(client_id={mask_client_id(self.client_id)!r}, scopes={self.scopes!r}, "
            f"token_url={self.token_url!r})"
        )


def _settings(values: dict[str, Any]) -> Settings:
    """Settings from their pickled fields."""
    return Settings(**values)


def resolve_settings(
    client_id: object = None,
    client_secret: object = None,
    scope: object = None,
    *,
    environ: Mapping[str, str] | None = None,
    missing_too: Iterable[str] = (),
    where: str = "resolve_settings()",
    **options: Any,
) -> Settings:
    """Validate arguments into :class:`Settings`, falling back to the environment.

    Args:
        client_id, client_secret, scope: the credential; ``None`` reads the environment.
        environ: where ``OFFICERND_*`` variables come from (``os.environ`` by default); pass
            ``{}`` to read none.
        missing_too: other settings (``"org"``) to name in the error when it is raised anyway
            and they are not set either.
        where: the caller, as a ``TypeError`` for an unknown option names it.
        **options: :class:`ProviderOptions`.

    Raises:
        ConfigurationError: every missing or unusable setting, in one message.
        ScopeError: a scope is malformed or a near miss of a known one (once the rest is right).
        TypeError: an option that does not exist.
    """
    # The secret, wrapped at once: no frame an error passes through holds it as text.
    secret = Secret.wrap(client_secret)
    del client_secret
    check_option_names(options, where)
    reading = environ is None or bool(environ)
    problems: list[str] = []

    def credential(name: str, value: object) -> str:
        if value is None and reading:
            value = environment_value(name, environ)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is None or value == "":
            how = f"pass {name}=... or set {ENVIRONMENT[name]}" if reading else f"pass {name}=..."
            problems.append(f"{name} is missing: {how}")
        else:
            problems.append(
                f"{name} must be a non-empty string, got {type(value).__name__}: pass {name}=..."
            )
        return ""

    resolved_id = credential("client_id", client_id)
    resolved_secret = Secret(credential("client_secret", Secret.unwrap(secret)))
    if scope is None and reading:
        scope = environment_value("scope", environ)
    if scope is None:
        problems.append(
            "scope is missing: pass scope=... or set OFFICERND_SCOPE"
            if reading
            else "scope is missing: pass scope='flex.community.members.read ...'"
        )
    values = _checked_options(options, environ if reading else {}, problems)
    if problems:
        unset = [
            f"{name} (pass {name}=... or set {ENVIRONMENT[name]})"
            for name in missing_too
            if reading and environment_value(name, environ) is None
        ]
        if unset:
            problems.append(f"not set either: {', '.join(unset)}")
        raise _configuration_error("; ".join(problems))
    from .scopes import check_scopes, parse_scopes  # scopes imports errors (and oauthlib)

    scopes = parse_scopes(scope)  # type: ignore[arg-type]
    check_scopes(scopes, values.get("api_version"))
    return Settings(resolved_id, resolved_secret.reveal(), scopes, **values)


def _checked_options(
    options: Mapping[str, Any], environ: Mapping[str, str] | None, problems: list[str]
) -> dict[str, Any]:
    """The options validated, with their defaults left to :class:`Settings`; each problem is
    appended to ``problems`` rather than raised, so all are reported together."""
    values: dict[str, Any] = {}

    def check(name: str, test: Callable[[Any], Any]) -> None:
        if name not in options:
            return
        try:
            values[name] = test(options[name])
        except ValueError as exc:
            problems.append(str(exc))

    token_url = options.get("token_url") or environment_value("token_url", environ)
    try:
        values["token_url"] = normalise_url(check_url("token_url", token_url or DEFAULT_TOKEN_URL))
    except ValueError as exc:
        problems.append(str(exc))
    check("api_version", _api_version)
    check("leeway", lambda v: _number("leeway", v))
    # The shared cache is read from the environment even where credentials are not: a token
    # cache is machine configuration, not a credential.
    cache = options.get("token_cache")
    values["token_cache"] = environment_value("token_cache") if cache is None else cache
    check("clock", _callable("clock", "a callable returning seconds since the epoch"))
    check("token_budget", lambda v: None if v is None else int(_number("token_budget", v, 1, True)))
    check("budget_window", lambda v: _number("budget_window", v, 1e-9))
    check("max_token_retries", lambda v: int(_number("max_token_retries", v, whole=True)))
    check("backoff", lambda v: _number("backoff", v))
    check("strict_scopes", bool)
    check("token_timeout", _timeout)
    check("token_deadline", lambda v: _number("token_deadline", v, 1e-9))
    check("verify", _verify)
    check("cert", _cert)
    check("proxies", _proxies)
    check("sleep", _callable("sleep", "a callable taking seconds"))
    return values


def _number(name: str, value: object, minimum: float = 0.0, whole: bool = False) -> float:
    """``value`` as a float: a finite number (a whole one if ``whole``) of at least
    ``minimum``, else a ``ValueError`` naming the setting."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (whole and not float(value).is_integer())
        or value < minimum
    ):
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {kind} of at least {minimum:g}, got {value!r}")
    return float(value)


def _api_version(value: object) -> str | None:
    if value not in (None, "v1", "v2"):
        raise ValueError(f"api_version must be 'v1' or 'v2', got {value!r}")
    return value


def _timeout(value: object) -> float | tuple[float, float]:
    if isinstance(value, tuple) and len(value) == 2:
        return (_number("token_timeout", value[0], 1e-9), _number("token_timeout", value[1], 1e-9))
    if isinstance(value, tuple):
        raise ValueError(f"token_timeout must be seconds or a (connect, read) pair, got {value!r}")
    return _number("token_timeout", value, 1e-9)


def _verify(value: object) -> bool | str:
    if not isinstance(value, (bool, str)):
        raise ValueError(f"verify must be True, False or the path of a CA bundle, got {value!r}")
    return value


def _cert(value: object) -> str | tuple[str, str] | None:
    if value is not None and not isinstance(value, (str, tuple)):
        raise ValueError(f"cert must be a path or a (cert, key) pair of paths, got {value!r}")
    return value


def _proxies(value: object) -> dict[str, str]:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(
            f"proxies must map schemes to proxy URLs, e.g. {{'https': ...}}, got {value!r}"
        )
    return dict(value or {})


def _callable(name: str, what: str) -> Callable[[object], Any]:
    def test(value: object) -> object:
        if not callable(value):
            raise ValueError(f"{name} must be {what}")
        return value

    return test


def check_leeway(leeway: object) -> float:
    """Check the leeway is a finite number of seconds, zero or more."""
    try:
        return _number("leeway", leeway)
    except ValueError as exc:
        raise _configuration_error(str(exc)) from None


def front_end_setting(
    name: str, value: object, environ: Mapping[str, str] | None = None
) -> str | None:
    """``org`` or ``api_url`` as given, else from the environment; ``None`` when neither.

    Raises:
        ConfigurationError: given but not text.
    """
    if value is None:
        return environment_value(name, environ)
    if not isinstance(value, str):
        raise _configuration_error(f"{name} must be a string, got {type(value).__name__}")
    return value.strip() or None


def _configuration_error(message: str) -> ConfigurationError:
    # Imported here: errors imports oauthlib (~45 ms), and this module must stay light for the
    # CLI's cached-token path.
    from ..values.errors import ConfigurationError

    return ConfigurationError(message)
