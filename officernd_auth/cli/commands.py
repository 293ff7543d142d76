"""The commands of ``officernd-auth``: one function each, and the helpers they share.

Each command takes the parsed arguments and returns an exit code; a failure to report is a
:class:`CommandError`. requests, oauthlib and the session are imported by the commands that use
them (see :mod:`officernd_auth.cli.main` for the fast path that needs none).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ..core.settings import environment_value
from ..values.records import mask_client_id
from .status import cache_from as _cache
from .status import command as status_command
from .status import configured_provider, official

if TYPE_CHECKING:
    import requests

    from ..cache import TokenCache
    from ..requests_adapter.session import OfficeRNDSession
    from ..testing import FakeOfficeRND

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "CommandError"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

#: ``fake-server --fail-token-requests``: name -> (the ``Fault`` constructor, its arguments).
TOKEN_FAULTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "429": ("rate_limited", (30,)),
    "500": ("server_error", (500,)),
    "503": ("server_error", (503,)),
    "slow": ("slow", (35.0,)),
    "drop": ("drop", ()),
    "not-json": ("not_json", ()),
    "no-expires-in": ("no_expires_in", ()),
    "narrow-scope": ("narrow_scope", ()),
}


class CommandError(Exception):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- credentials ------------------------------------------------------------------------------


def _secret(args: argparse.Namespace) -> str | None:
    """The client secret from stdin, the environment or a prompt; ``None`` when none can be
    had (the session then names it among every missing setting)."""
    if args.client_secret_stdin:
        line = sys.stdin.readline().strip()
        if not line:
            raise CommandError("--client-secret-stdin: stdin was empty", EXIT_USAGE)
        return line
    from_env = environment_value("client_secret")
    if from_env:
        return from_env
    if sys.stdin.isatty():
        try:
            import getpass

            entered = getpass.getpass("OfficeRND client secret: ").strip()
        except EOFError:
            entered = None
        if entered:
            return entered
        if entered is not None:
            raise CommandError(
                "no client secret was entered at the prompt; set OFFICERND_CLIENT_SECRET or "
                "pipe it with --client-secret-stdin",
                EXIT_USAGE,
            )
        raise CommandError(
            "no client secret was given at the prompt (end of input); set "
            "OFFICERND_CLIENT_SECRET or pipe it with --client-secret-stdin",
            EXIT_USAGE,
        )
    return None


def _session(args: argparse.Namespace) -> OfficeRNDSession:
    from ..cache import MemoryTokenCache
    from ..requests_adapter.session import OfficeRNDSession

    return OfficeRNDSession(
        args.client_id,
        _secret(args),
        args.scope,
        org=args.org,
        api_version=args.api_version,
        api_url=args.api_url,
        token_url=args.token_url,
        token_cache=MemoryTokenCache() if args.no_cache else _cache(args),
    )


def _params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"-p {pair!r}: write it as KEY=VALUE", EXIT_USAGE)
        params[key] = value
    return params


def _print_json(value: Any, stream: TextIO | None = None) -> None:
    import json

    stream = stream or sys.stdout
    if stream.isatty():
        json.dump(value, stream, indent=2, ensure_ascii=False)
    else:
        json.dump(value, stream, separators=(",", ":"), ensure_ascii=False)
    stream.write("\n")


# -- commands ---------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> int:
    session = _session(args)
    print(session.provider.get_token().access_token)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from ..core.scopes import KNOWN_SCOPES, suggest_scope

    session = _session(args)
    provider = session.provider
    requested = provider.scopes
    lines = [
        f"client id:    {mask_client_id(provider.client_id)}",
        f"token URL:    {provider.token_url}",
        f"API:          {session.api_url} ({session.api_version}), org {session.org or '(none)'}",
        f"cache:        {'off' if args.no_cache else _describe(_cache(args))}",
        "requested scopes:",
    ]
    for scope in requested:
        note = ""
        if scope not in KNOWN_SCOPES:
            suggestion = suggest_scope(scope)
            note = f"  (near miss: did you mean {suggestion}?)" if suggestion else "  (unknown)"
        lines.append(f"  {scope}{note}")
    print("\n".join(lines))
    token = provider.get_token()
    now = provider.clock()
    print("granted scopes:")
    for scope in sorted(token.scopes):
        print(f"  {scope}")
    missing = set(requested) - token.scopes
    if missing:
        print(f"missing:      {' '.join(sorted(missing))}")
    print(f"token:        valid, expires in {token.expires_in(now) / 60:.0f} min")
    print(f"token requests made now: {provider.token_requests}")
    probe = _probe_path(session.api_version, token.scopes)
    if not session.org:
        print("organisation: not checked (give --org or set OFFICERND_ORG)")
        return EXIT_OK
    if probe is None:
        print("organisation: not checked (no read scope to check it with)")
        return EXIT_OK
    response = session.get(probe, params={"$limit": 1})
    if response.status_code == 200:
        print(f"organisation: {session.org} answers (GET {probe}: 200)")
        return EXIT_OK
    raise CommandError(
        f"organisation: GET {probe} answered HTTP {response.status_code}"
        f"{_hint(response)}: {_snippet(response)}"
    )


def _probe_path(api_version: str, scopes: frozenset[str]) -> str | None:
    """A list that the granted scopes can read, for one cheap call ($limit=1)."""
    from ..core.scopes import path_segment

    if api_version == "v1":
        return "members" if "officernd.api.read" in scopes else None
    for scope in sorted(scopes):
        parts = scope.split(".")
        if len(parts) == 4 and parts[0] == "flex" and parts[3] == "read":
            return path_segment(parts[2])
    return None


def _hint(response: requests.Response) -> str:
    """What to do about an API error, when its status says."""
    if response.status_code == 401:
        from ..core.hints import needed_scope

        scope = needed_scope(response.request.method or "GET", response.request.url or "")
        if scope:
            return (
                f" (the token is valid but lacks {scope}: grant it under Settings -> Developer "
                "Tools -> Applications -> Configure and add it to --scope or OFFICERND_SCOPE)"
            )
        return " (the token is valid but probably lacks the scope for this call)"
    from ..core.hints import ORGANISATION_HINT, organisation_not_found

    if organisation_not_found(response.status_code, response.content):
        return f" ({ORGANISATION_HINT}; give it as --org or OFFICERND_ORG)"
    if response.status_code == 404:
        from urllib.parse import urlsplit

        from ..core.hints import nearest_resource

        path = urlsplit(response.url or "").path.split("/organizations/", 1)[-1]
        nearest = nearest_resource(path.partition("/")[2])
        if nearest:
            return f" (no such path: did you mean {nearest}?)"
        return " (no such path: check the resource name and --api-version)"
    return ""


def _snippet(response: requests.Response) -> str:
    """The API's error body, short, with the token that was sent masked whatever its shape."""
    from ..values.redact import scrub

    sent = response.request.headers.get("Authorization", "") if response.request else ""
    token = sent.partition(" ")[2]
    return scrub(response.text, (token,) if token else ())


def cmd_get(args: argparse.Namespace) -> int:
    import requests

    session = _session(args)
    params = _params(args.param)
    if not args.all:
        return _show(session.get(args.path, params=params), "GET", args.path)
    try:
        # The same progress bar as paginate(progress=True) in Python, on a terminal only.
        items = list(session.paginate(args.path, params, progress=sys.stderr.isatty()))
    except requests.HTTPError as exc:
        response = exc.response
        assert response is not None
        return _show(response, "GET", args.path)
    _print_json(items)
    return EXIT_OK


def cmd_request(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    data: Any = None
    try:
        if args.json_data is not None:
            data = json.loads(args.json_data)
        elif args.json_file is not None:
            text = sys.stdin.read() if args.json_file == "-" else Path(args.json_file).read_text()
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise CommandError(f"the JSON body could not be read: {exc}", EXIT_USAGE) from None
    session = _session(args)
    response = session.request(
        args.method,
        args.path,
        params=_params(args.param),
        json=data if data is not None else None,
    )
    return _show(response, args.method, args.path)


def _show(response: requests.Response, method: str, path: str) -> int:
    if response.status_code >= 400:
        raise CommandError(
            f"{method} {path} answered HTTP {response.status_code}{_hint(response)}: "
            f"{_snippet(response)}"
        )
    if not response.content:
        return EXIT_OK
    try:
        _print_json(response.json())
    except ValueError:
        print(response.text)
    return EXIT_OK


def _describe(cache: TokenCache) -> str:
    from ..cache import FileTokenCache

    if isinstance(cache, FileTokenCache):
        return str(cache.directory)
    return repr(cache)


def cmd_cache(args: argparse.Namespace) -> int:
    from ..cache import FileTokenCache, RedisTokenCache

    cache = _cache(args)
    if not isinstance(cache, FileTokenCache):
        kind = "Redis" if isinstance(cache, RedisTokenCache) else type(cache).__name__
        raise CommandError(
            f"cache {args.action} works on the file cache; this is {kind}: "
            "use its own tools (e.g. redis-cli) to inspect it",
            EXIT_USAGE,
        )
    foreign = cache.foreign_files()
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise CommandError(
            f"{cache.directory} is not an officernd-auth token cache (it holds {shown}); "
            "nothing was shown or removed. Give the cache's own directory with --cache-dir "
            "or OFFICERND_TOKEN_CACHE",
            EXIT_USAGE,
        )
    if args.action == "show" and getattr(args, "budget", False):
        raise CommandError("--budget goes with cache clear, not cache show", EXIT_USAGE)
    if args.action == "clear":
        if getattr(args, "budget", False):
            removed = cache.clear_budgets()
            print(f"removed {removed} budget record(s) (token requests counted, 429 waits) "
                  f"from {cache.directory}")  # fmt: skip
            return EXIT_OK
        print(f"removed {cache.clear()} cached token(s) from {cache.directory}")
        return EXIT_OK
    entries = cache.entries()
    print(f"token cache: {cache.directory}")
    if not entries:
        print("  (empty)")
    provider = configured_provider(args, cache)
    now = time.time()
    for entry in entries:
        left = entry.expires_at - now
        state = f"valid for {left / 60:.0f} min" if left > 0 else "expired"
        print(f"  {entry.key[:12]}  {state:<18} {' '.join(sorted(entry.scopes))}")
        if provider is not None and entry.key == provider.key:
            # As `gh auth status` names host and account: which server, which application.
            where = "" if official(provider.token_url) else " (not OfficeRND's token endpoint)"
            label = provider.application
            print(f"                {label}{where}: the configured credentials")
    return EXIT_OK


def cmd_fake_server(args: argparse.Namespace) -> int:
    from ..testing import FakeOfficeRND
    from .demo import DEMO_SCOPES

    fake = FakeOfficeRND(
        port=args.port,
        expires_in=args.expires_in,
        rate_limit=None if args.no_rate_limit else 5,
    )
    fake.seed_sample()
    app = fake.add_app(DEMO_SCOPES)
    if args.fail_token_requests:
        from ..testing import Fault

        if args.times < 1:
            raise CommandError("--times must be 1 or more", EXIT_USAGE)
        fault = getattr(Fault, TOKEN_FAULTS[args.fail_token_requests][0])
        fake.fail_next_token_requests(fault(*TOKEN_FAULTS[args.fail_token_requests][1]), args.times)
    elif args.times != 1:
        raise CommandError("--times goes with --fail-token-requests", EXIT_USAGE)
    with fake:
        print(f"# FakeOfficeRND is serving on {fake.url} (Ctrl-C to stop)", flush=True)
        print("# paste these lines into another shell:")
        for name, value in (
            ("OFFICERND_TOKEN_URL", fake.token_url),
            ("OFFICERND_API_URL", fake.api_url),
            ("OFFICERND_ORG", "acme"),
            ("OFFICERND_CLIENT_ID", app.client_id),
            ("OFFICERND_CLIENT_SECRET", app.client_secret),
            ("OFFICERND_SCOPE", " ".join(s for s in DEMO_SCOPES if s.startswith("flex."))),
        ):
            print(f"export {name}='{value}'", flush=True)
        stop = _wait_for_signal(_request_logger(fake))
        print(f"# stopped ({stop})", file=sys.stderr)
    return EXIT_OK


def _request_logger(fake: FakeOfficeRND) -> Callable[[], None]:
    """A function that prints one line on stderr per request the emulator answered since its
    last call: method, path and status (for token requests also the fault and the masked
    client id); never a token or a secret."""
    logged = [0, 0]

    def log() -> None:
        tokens, api = fake.token_requests[logged[0] :], fake.api_requests[logged[1] :]
        logged[0] += len(tokens)
        logged[1] += len(api)
        for record in tokens:
            fault = f" ({record.fault})" if record.fault else ""
            client = mask_client_id(record.client_id) if record.client_id else "no client id"
            print(f"POST /oauth/token {record.status}{fault}: {client}", file=sys.stderr)
        for call in api:
            token = "" if call.has_token else " (no token)"
            print(f"{call.method} {call.path} {call.status}{token}", file=sys.stderr)
        if tokens or api:
            sys.stderr.flush()

    return log


def _wait_for_signal(every_tick: Callable[[], None] = lambda: None) -> str:
    """Wait for Ctrl-C (SIGINT) or SIGTERM, calling ``every_tick`` ten times a second; return
    the signal's name.

    Both are handled here, explicitly: a process started in the background (``nohup``, a
    script's ``&``, some CI runners) inherits SIGINT *ignored*, and would never stop on Ctrl-C.
    """
    import signal

    received: list[str] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not received:
            time.sleep(0.1)
            every_tick()
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
    return received[0]


def cmd_webhook(args: argparse.Namespace) -> int:
    from ..core.webhooks import ENVIRONMENT_VARIABLE, parse_event, verify_signature
    from ..values.errors import WebhookError

    body = sys.stdin.buffer.read()
    secret = environment_value("webhook_secret")
    if not secret:
        try:
            import getpass

            secret = getpass.getpass("webhook secret: ") if _has_terminal() else None
        except EOFError:
            secret = None
    if not secret:
        raise CommandError(
            f"no webhook secret: set {ENVIRONMENT_VARIABLE} (or run in a terminal to be "
            "prompted); it is never read from the command line",
            EXIT_USAGE,
        )
    try:
        timestamp = verify_signature(body, args.signature, secret, tolerance=args.tolerance)
    except WebhookError as exc:
        raise CommandError(f"invalid: {exc}", EXIT_ERROR) from None
    try:
        event_type = parse_event(body, args.signature, secret, tolerance=args.tolerance)[
            "eventType"
        ]
    except WebhookError:
        event_type = "(not an OfficeRND event body)"
    print(f"valid: {event_type}, signed {max(0, int(time.time() - timestamp))} s ago")
    return EXIT_OK


def _has_terminal() -> bool:
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(sys.stdout)


COMMANDS = {
    "status": status_command,
    "token": cmd_token,
    "check": cmd_check,
    "get": cmd_get,
    "request": cmd_request,
    "cache": cmd_cache,
    "fake-server": cmd_fake_server,
    "demo": cmd_demo,
    "webhook": cmd_webhook,
}
