"""The ``officernd-auth`` command's first step: ``officernd-auth token`` with a valid token in the
file cache prints it having imported only ``os``, ``sys`` and ``json`` beside this package's
:mod:`~officernd_auth.values.records` and :mod:`~officernd_auth.values.environment` (once per
``curl``, the command must cost little more than starting Python: benchmarks, table 4). Anything
else (another command, an option this path does not know, no cached token) goes to
:func:`officernd_auth.cli.main`, which decides as it always does."""

from __future__ import annotations

import os
import sys

from ..values.environment import (
    DEFAULT_LEEWAY,
    DEFAULT_TOKEN_URL,
    environment_value,
    xdg_cache_home,
)
from ..values.records import (
    cache_key,
    is_normal_url,
    private_directory,
    read_trusted,
    record_fields,
    renewal_leeway,
)

TYPE_CHECKING = False  # typing itself is not imported: see the module's docstring
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["cached_token", "default_directory", "main"]

#: The options of ``token`` this path reads; any other sends the call to the full CLI.
_OPTIONS = {"--client-id": "client_id", "--scope": "scope", "--token-url": "token_url",
            "--cache-dir": "cache_dir"}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (the console script's entry point); see :mod:`officernd_auth.cli.main`.

    A reader that goes away (``officernd-auth get members --all | head``) ends the command
    quietly with 141, as a Unix tool killed by ``SIGPIPE`` reports, not with a traceback."""
    try:
        code = _main(sys.argv[1:] if argv is None else list(argv))
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that it cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


def _main(arguments: list[str]) -> int:
    try:
        token = _from_arguments(arguments)
    except KeyboardInterrupt:
        return 130
    if token is not None:
        sys.stdout.write(token + "\n")
        return 0
    from .main import main as full

    return full(arguments)


def _from_arguments(arguments: list[str]) -> str | None:
    if not arguments or arguments[0] != "token":
        return None
    given: dict[str, str] = {}
    rest = iter(arguments[1:])
    for argument in rest:
        name, equals, value = argument.partition("=")
        if name not in _OPTIONS or _OPTIONS[name] in given:
            return None  # anything unusual: the full CLI parses and explains it
        if not equals:
            value = next(rest, "")
            if not value or value.startswith("-"):
                return None
        given[_OPTIONS[name]] = value
    return cached_token(
        given.get("client_id") or environment_value("client_id"),
        environment_value("client_secret"),
        given.get("scope") or environment_value("scope"),
        given.get("token_url") or environment_value("token_url"),
        given.get("cache_dir") or environment_value("token_cache"),
    )


def cached_token(
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
    token_url: str | None,
    cache_dir: str | None,
) -> str | None:
    """The access token the file cache holds for this credential while the provider would use
    it as it is (its default leeway), or ``None``: then the full path decides (it fetches,
    prompts, or explains what is missing). Reads only; never writes, warns or fixes modes
    (the full path does, when it is asked to)."""
    if not (client_id and client_secret and scope) or (cache_dir or "").startswith(
        ("redis", "unix:")
    ):
        return None
    url = (token_url or DEFAULT_TOKEN_URL).strip().rstrip("/")
    directory = default_directory(cache_dir)
    if directory is None or not is_normal_url(url) or not private_directory(directory):
        return None
    key = cache_key(url, client_id.strip(), client_secret, scope.split())
    raw, _ = read_trusted(os.path.join(directory, f"{key}.json"), remove_untrusted=False)
    fields = record_fields(raw) if raw else None
    if fields is None:
        return None
    access_token, expires_at, obtained_at, _ = fields
    # The provider's rule (Freshness.renews_at): a token it would renew is renewed by the full
    # path.
    import time

    leeway = renewal_leeway(expires_at, obtained_at, DEFAULT_LEEWAY)
    return access_token if time.time() < expires_at - leeway else None


def default_directory(configured: str | None) -> str | None:
    """The file cache's directory as :func:`~officernd_auth.cache.file.default_cache_dir`
    finds it, without platformdirs on Linux (its rule: ``$XDG_CACHE_HOME`` or ``~/.cache``);
    ``None`` elsewhere, for the full path."""
    if configured:
        return os.path.expanduser(configured)
    if not sys.platform.startswith("linux"):
        return None
    return os.path.join(xdg_cache_home(), "officernd-auth", "tokens")
