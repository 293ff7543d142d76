"""``officernd-auth status``: what the configured token cache (file, Redis or Django) holds for
every application it has seen: the cached tokens with their expiry and scopes, the token
requests counted in the current budget window by every process sharing the store, any server
wait in force, and whether the store answers. Never a token or a secret: an application is its
token endpoint's host and masked client id where this command is configured with them, else
the first 12 characters of its key (a hash)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from ..cache import FileTokenCache, RedisTokenCache, TokenCache
from ..cache.base import application_key
from ..values.environment import environment_value
from ..values.urls import origin_url

__all__ = ["cache_from", "command", "render", "status"]

#: The budget OfficeRND enforces per application (the package's defaults).
LIMIT, WINDOW = 5, 60.0


def status(cache: TokenCache, provider: Any = None, now: float | None = None) -> dict[str, Any]:
    """The report, as ``--json`` prints it (docs/operations.rst lists its fields). With the
    configured ``provider``, its application and token are named (host, masked client id)."""
    now = time.time() if now is None else now
    known_budget: dict[str, str] = {}
    known_tokens: dict[str, str] = {}
    if provider is not None:
        label = provider.application
        known_budget[application_key(origin_url(provider.token_url), provider.client_id)] = label
        known_tokens[provider.key] = label
    report: dict[str, Any] = {"store": _store(cache), "now": now, "window": WINDOW,
                              "limit": LIMIT, "budgets": [], "tokens": []}  # fmt: skip
    if not report["store"]["healthy"]:
        return report
    try:
        report["tokens"] = [_token(key, token, now, known_tokens)
                            for key, token in _tokens(cache)]  # fmt: skip
        applications = set(known_budget)
        if hasattr(cache, "budget_use"):  # a store that keeps the shared budget
            applications |= set(cache.budget_applications())  # type: ignore[attr-defined]
            report["budgets"] = [
                _budget(cache, application, now, known_budget)
                for application in sorted(applications)
            ]
    except OSError as exc:
        report["store"].update(healthy=False, error=str(exc))
    return report


def _store(cache: TokenCache) -> dict[str, Any]:
    if isinstance(cache, FileTokenCache):
        where = str(cache.directory)
        healthy = not cache.directory.exists() or os.access(cache.directory, os.R_OK | os.X_OK)
        error = None if healthy else "the directory cannot be read"
        return {"kind": "file", "where": where, "healthy": healthy, "error": error}
    if isinstance(cache, RedisTokenCache):
        try:
            cache.token_keys()
        except OSError as exc:
            return {"kind": "redis", "where": cache.name, "healthy": False, "error": str(exc)}
        return {"kind": "redis", "where": cache.name, "healthy": True, "error": None}
    return {"kind": type(cache).__name__, "where": repr(cache), "healthy": True, "error": None}


def _tokens(cache: TokenCache) -> list[tuple[str, Any]]:
    if isinstance(cache, FileTokenCache):
        return [(entry.key, entry) for entry in cache.entries()]
    if isinstance(cache, RedisTokenCache):
        found = [(key, cache.get(key)) for key in cache.token_keys()]
        return [(key, token) for key, token in found if token is not None]
    return []  # a Django cache cannot list its keys


def _token(key: str, token: Any, now: float, known: dict[str, str]) -> dict[str, Any]:
    left = token.expires_at - now
    return {
        "key": key[:12],
        "application": known.get(key),
        "state": "valid" if left > 0 else "expired",
        "expires_at": token.expires_at,
        "expires_in": round(left, 1),
        "scopes": sorted(token.scopes),
    }


def _budget(cache: Any, application: str, now: float, known: dict[str, str]) -> dict[str, Any]:
    use = cache.budget_use(application, now, WINDOW)
    return {
        "application": known.get(application, application[:12]),
        "used": use.used,
        "limit": LIMIT,
        "frees_in": round(use.frees_in, 1),
        "server_wait": round(use.server_wait, 1),
    }


def render(report: dict[str, Any]) -> str:
    """The report for a person."""
    store = report["store"]
    lines = [f"token store: {store['kind']} {store['where']}"
             + ("" if store["healthy"] else f"  UNREACHABLE: {store['error']}")]  # fmt: skip
    lines.append(f"budgets (token requests in the last {report['window']:g} s):")
    for budget in report["budgets"]:
        line = f"  {budget['application']:<40} {budget['used']}/{budget['limit']} used"
        if budget["used"]:
            line += f", the oldest leaves the window in {budget['frees_in']:g} s"
        if budget["server_wait"]:
            line += f"; a 429 holds token requests back for {budget['server_wait']:g} s"
        lines.append(line)
    if not report["budgets"]:
        lines.append("  (none recorded)")
    lines.append("cached tokens:")
    for token in report["tokens"]:
        who = token["application"] or token["key"]
        state = "expired"
        if token["state"] == "valid":
            state = f"valid for {token['expires_in'] / 60:.0f} min"
        lines.append(f"  {who:<40} {state:<18} {' '.join(token['scopes'])}")
    if not report["tokens"]:
        lines.append("  (none)")
    return "\n".join(lines)


def cache_from(args: argparse.Namespace) -> TokenCache:
    """The token cache the command line uses: ``--cache-dir``, else $OFFICERND_TOKEN_CACHE
    (a directory, a Redis or Django URL), else the user's file cache."""
    from ..cache import FileTokenCache, resolve_token_cache

    # The CLI caches in files by default; $OFFICERND_TOKEN_CACHE may name a directory or Redis.
    where = args.cache_dir or environment_value("token_cache")
    return resolve_token_cache(where) or FileTokenCache()


def command(args: argparse.Namespace) -> int:
    """``officernd-auth status``: exit 0, or 1 when the store does not answer."""
    cache = cache_from(args)
    report = status(cache, configured_provider(args, cache))
    if args.json:
        print(json.dumps(report, indent=2 if sys.stdout.isatty() else None, ensure_ascii=False))
    else:
        print(render(report))
    return 0 if report["store"]["healthy"] else 1  # EXIT_OK, EXIT_ERROR


def configured_provider(args: argparse.Namespace, cache: TokenCache) -> Any:
    """A provider (never used to fetch) for the credentials of the options and environment, to
    name their application and token; ``None`` without a client id, scope and secret (the
    secret from the environment only: these commands never prompt)."""
    from ..values.errors import ConfigurationError

    provider = None
    client_id = getattr(args, "client_id", None) or environment_value("client_id")
    scope = getattr(args, "scope", None) or environment_value("scope")
    secret = environment_value("client_secret")  # never a prompt: status works without it
    if client_id and scope and secret:
        from ..core.provider import TokenProvider

        token_url = getattr(args, "token_url", None) or environment_value("token_url")
        try:
            provider = TokenProvider(
                client_id, secret, scope, token_url=token_url, token_cache=cache
            )
        except ConfigurationError:
            provider = None  # the applications are then shown by their keys
    return provider


def official(token_url: str) -> bool:
    """Whether ``token_url`` is OfficeRND's own token endpoint (not an emulator or a proxy)."""
    host = urlsplit(token_url).hostname or ""
    return host == "officernd.com" or host.endswith(".officernd.com")
