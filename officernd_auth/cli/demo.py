"""``officernd-auth demo``: a narrated tour of the product against the built-in emulator.

Uses only the public API, exactly as a user would; the emulator runs in-process on loopback.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import TextIO

import requests

from ..requests_adapter.auth import OfficeRNDAuth
from ..requests_adapter.session import OfficeRNDSession
from ..values.errors import RateLimitedError, ScopeError

__all__ = ["DEMO_SCOPES", "run_demo"]

#: What the emulator's demo application is granted.
DEMO_SCOPES = [
    "flex.community.members.read",
    "flex.community.companies.read",
    "flex.space.bookings.read",
    "flex.space.locations.read",
    "flex.community.members.create",
    "flex.community.members.update",
    "officernd.api.read",
]


def run_demo(out: TextIO) -> int:
    """Run the tour, writing the transcript to ``out``; return 0."""
    started = time.perf_counter()

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    def step(title: str) -> None:
        say()
        say(f"== {title}")

    def code(line: str) -> None:
        say(f"   >>> {line}")

    # The transcript says in words what the library would log; keep its log lines out.
    library_logger = logging.getLogger("officernd_auth")
    level = library_logger.level
    library_logger.setLevel(logging.ERROR)
    try:
        from ..testing import FakeOfficeRND  # the emulator only when the demo runs

        with FakeOfficeRND() as fake, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counts = fake.seed_sample()
            app = fake.add_app(DEMO_SCOPES)
            tokens: Callable[[], int] = lambda: fake.token_request_count  # noqa: E731
            say("officernd-auth demo: OfficeRND OAuth for requests, against FakeOfficeRND")
            say(
                f"   emulator on {fake.url}, organisation 'acme' with "
                + ", ".join(f"{n} {r}" for r, n in counts.items())
            )
            say("   (the client secret is never printed: not here, not in any repr or log)")

            step("1. A session in one line; constructing it makes no request")
            code(
                "session = OfficeRNDSession(client_id, client_secret, "
                '"flex.community.members.read flex.space.bookings.read", org="acme")'
            )
            session = OfficeRNDSession(
                app.client_id,
                app.client_secret,
                "flex.community.members.read flex.space.bookings.read",
                org="acme",
                token_url=fake.token_url,
                api_url=fake.api_url,
            )
            say(f"   token requests so far: {tokens()}")

            step("2. The first call fetches a token; later calls reuse it")
            code('session.get("members", params={"$limit": 3}).json()["results"]')
            first = session.get("members", params={"$limit": 3}).json()["results"]
            for member in first:
                say(f"   - {member['name']} <{member['email']}>")
            code('for _ in range(4): session.get("bookings", params={"$limit": 1})')
            for _ in range(4):
                session.get("bookings", params={"$limit": 1})
            say(f"   5 API calls made in all; token requests: {tokens()}")
            code("session")
            say(f"   {session!r}")

            step("3. Paging through every member")
            code('members = list(session.paginate("members"))')
            members = list(session.paginate("members"))
            pages = sum(1 for r in fake.api_requests if r.path.endswith("/members"))
            say(
                f"   {len(members)} members over {pages - 1} pages of 50; "
                f"token requests: {tokens()}"
            )

            step("4. A typo in a scope is caught before any request")
            code('OfficeRNDSession(..., scope="flex.community.member.read")')
            before = tokens()
            try:
                OfficeRNDSession(
                    app.client_id,
                    app.client_secret,
                    "flex.community.member.read",
                    org="acme",
                    token_url=fake.token_url,
                    api_url=fake.api_url,
                )
            except ScopeError as exc:
                say(f"   ScopeError: {exc}")
            say(f"   token requests made for it: {tokens() - before}")

            step("5. The server revokes every token; one 401 is healed by one re-fetch")
            code("fake.expire_tokens()  # e.g. the secret was rotated")
            fake.expire_tokens()
            code('response = session.get("members", params={"$limit": 1})')
            response = session.get("members", params={"$limit": 1})
            say(
                f"   status {response.status_code}, after "
                f"{[r.status_code for r in response.history]} in its history; "
                f"token requests: {tokens()}"
            )

            step("6. The token budget: OfficeRND allows 5 token requests a minute")
            other = fake.add_app(DEMO_SCOPES)
            budgeted = OfficeRNDSession(
                other.client_id,
                other.client_secret,
                "officernd.api.read",
                org="acme",
                api_version="v1",
                token_url=fake.token_url,
                api_url=fake.api_url,
            )
            code("for i in range(6): budgeted.fetch_token()   # fetch_token always fetches")
            before = tokens()
            for attempt in range(1, 7):
                try:
                    budgeted.fetch_token()
                    say(f"   {attempt}: got a token")
                except RateLimitedError as exc:
                    say(f"   {attempt}: RateLimitedError: {str(exc).split(';')[0]}")
            say(
                f"   requests the server saw: {tokens() - before} (the sixth was never sent, "
                "so this client is not locked out)"
            )

            step("7. OfficeRNDAuth adds the same behaviour to plain requests")
            code("auth = OfficeRNDAuth(client_id, client_secret, scopes, api_url=...)")
            auth = OfficeRNDAuth(
                app.client_id,
                app.client_secret,
                "flex.community.members.read flex.space.bookings.read",
                token_url=fake.token_url,
                api_url=fake.api_url,
            )
            url = f"{fake.api_url}/api/v2/organizations/acme/members?$limit=2"
            code(f'requests.get("{url}", auth=auth)')
            before = tokens()
            response = requests.get(url, auth=auth, timeout=10)
            say(
                f"   status {response.status_code}, {len(response.json()['results'])} results; "
                f"it shares the session's cached token (token requests made: "
                f"{tokens() - before})"
            )
            url = f"{fake.api_url}/api/v2/organizations/acme/locations"
            code(f'requests.get("{url}", auth=auth)  # a scope we did not ask for')
            warned = _Collected()
            library_logger.addHandler(warned)
            library_logger.setLevel(logging.WARNING)
            try:
                response = requests.get(url, auth=auth, timeout=10)
            finally:
                library_logger.setLevel(logging.ERROR)
                library_logger.removeHandler(warned)
            say(
                f"   status {response.status_code} after one re-fetch: the new token is refused "
                "too, so it is handed back, with this warning:"
            )
            for message in warned.messages:
                say(f"   WARNING {message}")
            response = requests.get(url, auth=auth, timeout=10)
            say(
                f"   asked again: status {response.status_code}, and no further token request "
                f"(token requests made in this step: {tokens() - before})"
            )
            code('requests.get("http://127.0.0.2:9/elsewhere", auth=auth)  # another host')
            prepared = requests.Request("GET", "http://127.0.0.2:9/elsewhere", auth=auth).prepare()
            say(f"   Authorization header sent there: {'Authorization' in prepared.headers}")

            say()
            say(f"Done in {time.perf_counter() - started:.1f} s; {tokens()} token requests in all.")
    finally:
        library_logger.setLevel(level)
    return 0


class _Collected(logging.Handler):
    """Keeps the messages logged while it is attached (the demo shows them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
