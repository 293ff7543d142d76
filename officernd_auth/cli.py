"""The ``officernd-auth`` command: tokens for curl, quick API calls, the emulator and the demo.

Exit codes: 0 success; 1 an authentication or API error (one line on stderr, no traceback);
2 a usage or configuration error. The client secret is read from ``OFFICERND_CLIENT_SECRET``,
from stdin with ``--client-secret-stdin``, or from a hidden prompt, never from the command line,
where ``ps`` would show it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from . import __version__
from .cache.base import ENVIRONMENT_VARIABLE as CACHE_VARIABLE
from .cache.base import cache_key, normalise_url

# requests, oauthlib and the session are imported by the commands that use them: printing a
# cached token (``officernd-auth token``, once per curl) needs none of them.
if TYPE_CHECKING:
    import requests

    from .cache import TokenCache
    from .session import OfficeRNDSession

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations (``--client-secret`` must never match
    ``--client-secret-stdin``) and with usage errors as one line that echoes no value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"officernd-auth: error: {_without_values(message)}\n")


def _without_values(message: str) -> str:
    """An argparse message with the values it would echo left out: one may be a secret."""
    head, found, rest = message.partition("unrecognized arguments: ")
    if found:
        words = rest.split()
        options = [w.split("=", 1)[0] for w in words if w.startswith("-")]
        hidden = len(words) - len(options) + sum("=" in w for w in words if w.startswith("-"))
        shown = " ".join(options)
        if hidden:
            shown += f"{' and ' if options else ''}{hidden} value(s), not shown"
        return f"{head}unrecognized arguments: {shown} (see --help)"
    if "ignored explicit argument" in message:
        option = message.split(":", 1)[0]
        return f"{option} takes no value (the value given is not shown)"
    return message


class _RefuseSecretOption(argparse.Action):
    """``--client-secret`` / ``--client-secret=...``: refused without repeating the value."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            "--client-secret is not accepted: a secret on the command line is seen by ps and "
            "kept in shell history. Set OFFICERND_CLIENT_SECRET, pipe it with "
            "--client-secret-stdin, or answer the prompt (the value given is not shown)"
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``officernd-auth``."""
    common = _Parser(add_help=False)
    group = common.add_argument_group("credentials (default: the OFFICERND_* environment)")
    group.add_argument("--client-id", help="the application's client id")
    group.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from the first line of stdin (never pass it as an option)",
    )
    group.add_argument(
        "--client-secret", nargs="?", action=_RefuseSecretOption, help=argparse.SUPPRESS
    )
    group.add_argument("--scope", help="space-separated scopes")
    group.add_argument("--org", help="organisation slug (app.officernd.com/<slug>)")
    group.add_argument("--token-url", help="token endpoint URL")
    group.add_argument("--api-url", help="API origin URL")
    group.add_argument(
        "--api-version",
        choices=["v1", "v2"],
        default="v2",
        help="v2 (Flex, default) or v1 (Hybrid): which API short paths go to",
    )
    group.add_argument("--cache-dir", help="token cache directory ($OFFICERND_TOKEN_CACHE)")
    group.add_argument("--no-cache", action="store_true", help="do not use the file cache")
    group.add_argument("-v", "--verbose", action="store_true", help="debug logs (redacted)")

    parser = _Parser(
        prog="officernd-auth",
        description="OAuth 2 client-credentials tokens and API calls for OfficeRND.",
        epilog="Try 'officernd-auth demo' for a tour against the built-in emulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    commands.add_parser(
        "token",
        parents=[common],
        help="print an access token (for curl)",
        description='Print only the access token: curl -H "Authorization: Bearer '
        '$(officernd-auth token)" ... A cached token is reused while valid.',
    )
    commands.add_parser(
        "check",
        parents=[common],
        help="check credentials, scopes and the organisation",
        description="Fetch (or reuse) a token, compare the granted scopes with the requested "
        "ones, and make one cheap API call to confirm the organisation. Exit 1 when anything "
        "is wrong, with what to do.",
    )
    get = commands.add_parser("get", parents=[common], help="GET a path of the organisation")
    get.add_argument("path", help="e.g. members or members/<id>")
    get.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="query parameter (repeatable)",
    )
    get.add_argument("--all", action="store_true", help="follow pagination, print every item")
    request = commands.add_parser("request", parents=[common], help="any method, e.g. POST")
    request.add_argument("method", type=str.upper, help="the HTTP method, e.g. POST or DELETE")
    request.add_argument("path", help="a path of the organisation, e.g. members/<id>")
    body = request.add_mutually_exclusive_group()
    body.add_argument("--json", dest="json_data", metavar="DATA", help="JSON request body")
    body.add_argument("--json-file", metavar="FILE", help="file with the JSON body (- = stdin)")
    request.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="query parameter (repeatable)",
    )
    fake = commands.add_parser("fake-server", help="run the OfficeRND emulator in the foreground")
    fake.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    fake.add_argument(
        "--expires-in",
        type=int,
        default=3599,
        metavar="SECONDS",
        help="lifetime of issued tokens (default 3599, as OfficeRND)",
    )
    fake.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="switch off OfficeRND's limit of 5 token requests a minute",
    )
    commands.add_parser(
        "demo",
        help="a narrated tour against the built-in emulator",
        description="Start the emulator in this process and show, step by step, what the "
        "library does: tokens, reuse, paging, scope mistakes, rate limits. Takes a second.",
    )
    webhook = commands.add_parser("webhook", help="debug incoming webhooks")
    webhook_commands = webhook.add_subparsers(
        dest="webhook_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    verify = webhook_commands.add_parser(
        "verify",
        help="check a captured delivery's signature (body on stdin)",
        description="Read a delivery's raw body from stdin and check its officernd-signature "
        "header. The secret comes from OFFICERND_WEBHOOK_SECRET or a hidden prompt, never from "
        "the command line. Exit 0: valid; 1: invalid (the reason on stderr); 2: usage.",
    )
    verify.add_argument(
        "--signature", required=True, metavar="HEADER", help="the officernd-signature value"
    )
    verify.add_argument(
        "--tolerance",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how old (or early) the timestamp may be (default 300; large for old captures)",
    )
    cache = commands.add_parser("cache", help="show or clear the token cache")
    cache.add_argument(
        "action", choices=["show", "clear"], help="list the cached tokens, or delete them"
    )
    cache.add_argument("--cache-dir", help="token cache directory ($OFFICERND_TOKEN_CACHE)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "token":
        cached = _cached_token(args)
        if cached is not None:
            print(cached)
            return EXIT_OK
    return _run(parser, args)


def _cached_token(args: argparse.Namespace) -> str | None:
    """A valid token from the file cache, read without requests or oauthlib; else ``None``
    (then the full path decides: it fetches, prompts, or explains what is missing)."""
    if args.no_cache or args.client_secret_stdin or args.verbose:
        return None
    environ = os.environ
    client_id = args.client_id or environ.get("OFFICERND_CLIENT_ID")
    secret = environ.get("OFFICERND_CLIENT_SECRET")
    scope = args.scope or environ.get("OFFICERND_SCOPE")
    where = args.cache_dir or environ.get(CACHE_VARIABLE)
    if not (client_id and secret and scope) or (where or "").startswith(("redis", "unix:")):
        return None
    from .cache.file import FileTokenCache
    from .config import DEFAULT_TOKEN_URL

    token_url = normalise_url(
        (args.token_url or environ.get("OFFICERND_TOKEN_URL") or DEFAULT_TOKEN_URL)
        .strip()
        .rstrip("/")
    )
    key = cache_key(token_url, client_id.strip(), secret.strip(), scope.split())
    token = FileTokenCache(where).get(key)
    # The provider's default leeway: a token it would renew is renewed by the full path.
    if token is None or token.is_expired(time.time(), 60.0):
        return None
    return token.access_token


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import logging

    import requests

    from .errors import ConfigurationError, OfficeRNDAuthError, ScopeError

    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        # Failures reach the user as one line from main(); the log would say it twice.
        logging.getLogger("officernd_auth").setLevel(logging.ERROR)
    if args.command is None:
        parser.print_help(sys.stdout)
        return EXIT_OK
    warnings.showwarning = _show_warning
    try:
        return _COMMANDS[args.command](args)
    except CommandError as exc:
        return _fail(str(exc), exc.code)
    except (ConfigurationError, ScopeError) as exc:
        return _fail(_in_cli_words(str(exc)), EXIT_USAGE)
    except OfficeRNDAuthError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except ValueError as exc:  # a path that tries to leave the organisation, and the like
        return _fail(str(exc), EXIT_USAGE)
    except requests.RequestException as exc:
        return _fail(f"the request failed: {type(exc).__name__}", EXIT_ERROR)
    except KeyboardInterrupt:
        return 130


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Warnings as one line, the way a command line speaks: no file names, no source."""
    print(f"officernd-auth: warning: {_in_cli_words(str(message))}", file=sys.stderr)


def _in_cli_words(message: str) -> str:
    """A library message with its Python argument names replaced by this command's options."""
    message = message.replace(
        "pass client_secret=... or set OFFICERND_CLIENT_SECRET",
        "set OFFICERND_CLIENT_SECRET, pipe it with --client-secret-stdin, or answer the prompt",
    )
    return re.sub(
        r"\bpass (\w+)=(?:\.\.\.|'[^']*')",
        lambda m: "use --" + m.group(1).replace("_", "-"),
        message,
    )


def _fail(message: str, code: int) -> int:
    print(f"officernd-auth: error: {message}", file=sys.stderr)
    return code


# -- credentials ------------------------------------------------------------------------------


def _secret(args: argparse.Namespace) -> str:
    if args.client_secret_stdin:
        line = sys.stdin.readline().strip()
        if not line:
            raise CommandError("--client-secret-stdin: stdin was empty", EXIT_USAGE)
        return line
    from_env = os.environ.get("OFFICERND_CLIENT_SECRET")
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
    raise CommandError(
        "the client secret is missing: set OFFICERND_CLIENT_SECRET, pipe it with "
        "--client-secret-stdin, or run in a terminal to be prompted",
        EXIT_USAGE,
    )


def _cache(args: argparse.Namespace) -> TokenCache:
    from .cache import FileTokenCache, resolve_token_cache

    # The CLI caches in files by default; $OFFICERND_TOKEN_CACHE may name a directory or Redis.
    return resolve_token_cache(args.cache_dir) or FileTokenCache()


def _session(args: argparse.Namespace) -> OfficeRNDSession:
    from .cache import MemoryTokenCache
    from .session import OfficeRNDSession

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
    from .config import mask_client_id
    from .scopes import KNOWN_SCOPES, suggest_scope

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
    from .scopes import path_segment

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
        return " (the token is valid but probably lacks the scope for this call)"
    if response.status_code == 500 and b"Organization not found" in response.content[:512]:
        return (
            " (the organisation slug does not exist: use the path segment of your admin "
            "portal, app.officernd.com/<slug>, as --org or OFFICERND_ORG)"
        )
    if response.status_code == 404:
        return " (no such path: check the resource name and --api-version)"
    return ""


def _snippet(response: requests.Response) -> str:
    from .client import scrub

    return scrub(response.text)


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
    from .cache import FileTokenCache

    if isinstance(cache, FileTokenCache):
        return str(cache.directory)
    return repr(cache)


def cmd_cache(args: argparse.Namespace) -> int:
    from .cache import FileTokenCache, RedisTokenCache

    cache = _cache(args)
    if not isinstance(cache, FileTokenCache):
        kind = "Redis" if isinstance(cache, RedisTokenCache) else type(cache).__name__
        raise CommandError(
            f"cache {args.action} works on the file cache; this is {kind}: "
            "use its own tools (e.g. redis-cli) to inspect it",
            EXIT_USAGE,
        )
    if args.action == "clear":
        print(f"removed {cache.clear()} cached token(s) from {cache.directory}")
        return EXIT_OK
    entries = cache.entries()
    print(f"token cache: {cache.directory}")
    if not entries:
        print("  (empty)")
    now = time.time()
    for entry in entries:
        left = entry.expires_at - now
        state = f"valid for {left / 60:.0f} min" if left > 0 else "expired"
        print(f"  {entry.key[:12]}  {state:<18} {' '.join(sorted(entry.scopes))}")
    return EXIT_OK


def cmd_fake_server(args: argparse.Namespace) -> int:
    from .demo import DEMO_SCOPES
    from .testing import FakeOfficeRND

    fake = FakeOfficeRND(
        port=args.port,
        expires_in=args.expires_in,
        rate_limit=None if args.no_rate_limit else 5,
    )
    fake.seed_sample()
    app = fake.add_app(DEMO_SCOPES)
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
        stop = _wait_for_signal()
        print(f"# stopped ({stop})", file=sys.stderr)
    return EXIT_OK


def _wait_for_signal() -> str:
    import signal

    received: list[str] = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        while not received:
            time.sleep(0.1)
    except KeyboardInterrupt:
        received.append("SIGINT")
    finally:
        signal.signal(signal.SIGTERM, previous)
    return received[0]


def cmd_webhook(args: argparse.Namespace) -> int:
    from .errors import WebhookError
    from .webhooks import ENVIRONMENT_VARIABLE, parse_event, verify_signature

    body = sys.stdin.buffer.read()
    secret = os.environ.get(ENVIRONMENT_VARIABLE)
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


_COMMANDS = {
    "token": cmd_token,
    "check": cmd_check,
    "get": cmd_get,
    "request": cmd_request,
    "cache": cmd_cache,
    "fake-server": cmd_fake_server,
    "demo": cmd_demo,
    "webhook": cmd_webhook,
}
