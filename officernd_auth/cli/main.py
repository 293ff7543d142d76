"""The ``officernd-auth`` command: tokens for curl, quick API calls, the emulator and the demo.

Exit codes: 0 success; 1 an authentication or API error (one line on stderr, no traceback);
2 a usage or configuration error. The client secret is read from ``OFFICERND_CLIENT_SECRET``,
from stdin with ``--client-secret-stdin``, or from a hidden prompt, never from the command line,
where ``ps`` would show it.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from .. import __version__
from .commands import EXIT_ERROR, EXIT_OK, EXIT_USAGE, TOKEN_FAULTS, CommandError

# requests, oauthlib and the session are imported by the commands that use them (commands.py);
# printing a cached token (``officernd-auth token``, once per curl) needs none of this module
# (officernd_auth.cli.quick does it before importing it).

__all__ = ["main"]


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
    get = commands.add_parser(
        "get",
        parents=[common],
        help="GET a path of the organisation",
        description="GET a path of the organisation (e.g. members, or members/<id>) and print "
        "the JSON answer; --all follows the pages and prints every item. A token is fetched or "
        "reused as for 'token'. Exit 1 on an API error, with what to do.",
    )
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
    request = commands.add_parser(
        "request",
        parents=[common],
        help="any method, e.g. POST",
        description="Send any method to a path of the organisation, with a JSON body from "
        "--json or --json-file, and print the answer. Exit 1 on an API error.",
    )
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
    fake = commands.add_parser(
        "fake-server",
        help="run the OfficeRND emulator in the foreground",
        description="Serve the OfficeRND emulator (token endpoint and API, with sample data) on "
        "loopback until Ctrl-C, and print the environment that points this command, or your "
        "code, at it. One line per request goes to stderr; faults make it misbehave on purpose.",
    )
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
    fake.add_argument(
        "--fail-token-requests",
        choices=sorted(TOKEN_FAULTS),
        metavar="FAULT",
        help="answer token requests with a fault: " + ", ".join(sorted(TOKEN_FAULTS)),
    )
    fake.add_argument(
        "--times",
        type=int,
        default=1,
        metavar="N",
        help="how many token requests get the fault (default 1)",
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
    status = commands.add_parser(
        "status",
        parents=[common],
        help="what the token cache holds: tokens, budget spent, waits, the store's health",
        description="For every application the configured token cache (file, Redis, Django) "
        "has seen: the cached tokens with their expiry and scopes, the token requests counted "
        "in the current minute by every process sharing it, any 429 wait in force, and "
        "whether the store answers. Never a token or a secret. Exit 1 when the store does "
        "not answer.",
    )
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    cache = commands.add_parser("cache", help="show or clear the token cache")
    cache.add_argument(
        "action", choices=["show", "clear"], help="list the cached tokens, or delete them"
    )
    cache.add_argument("--cache-dir", help="token cache directory ($OFFICERND_TOKEN_CACHE)")
    cache.add_argument(
        "--budget",
        action="store_true",
        help="with clear: delete the budget records instead (token requests counted and 429 "
        "waits, of every application); only while no process is sending token requests",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (130 on Ctrl-C, at any moment)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # even while still importing: no traceback, the shell's code
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # (``officernd-auth token`` with a cached token never gets here: officernd_auth.cli.quick,
    # the console script's entry point, prints it first.)
    return _run(parser, args)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import logging

    import requests

    from ..values.errors import ConfigurationError, OfficeRNDAuthError, ScopeError

    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        # Failures reach the user as one line from main(); the log would say it twice.
        logging.getLogger("officernd_auth").setLevel(logging.ERROR)
    if args.command is None:
        parser.print_help(sys.stdout)
        return EXIT_OK
    warnings.showwarning = _show_warning
    from .commands import COMMANDS

    try:
        return COMMANDS[args.command](args)
    except CommandError as exc:
        return _fail(str(exc), exc.code)
    except (ConfigurationError, ScopeError) as exc:
        return _fail(_in_cli_words(str(exc)), EXIT_USAGE)
    except OfficeRNDAuthError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except ValueError as exc:  # a path that tries to leave the organisation, and the like
        return _fail(str(exc), EXIT_USAGE)
    except requests.RequestException as exc:
        from urllib.parse import urlsplit

        from ..core.hints import network_cause

        url = exc.request.url if exc.request is not None else None
        where = f" to {urlsplit(url).netloc}" if url else ""
        return _fail(f"the request{where} failed: {network_cause(exc)}", EXIT_ERROR)
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
        "set OFFICERND_CLIENT_SECRET, pipe it with --client-secret-stdin, or run in a terminal "
        "to be prompted",
    )
    return re.sub(
        r"\bpass (\w+)=(?:\.\.\.|'[^']*')",
        lambda m: "use --" + m.group(1).replace("_", "-"),
        message,
    )


def _fail(message: str, code: int) -> int:
    print(f"officernd-auth: error: {message}", file=sys.stderr)
    return code
