"""No client secret and no access token in any repr, exception, traceback or log record."""

from __future__ import annotations

import json
import logging
import traceback

import pytest
import requests

from officernd_auth import OfficeRNDAuth, OfficeRNDAuthError, OfficeRNDSession
from officernd_auth.testing import FakeClock, FakeOfficeRND, Fault

SECRET = "s3cr3t-DISTINCTIVE-4f7a-do-not-print"
LOGGERS = ("", "officernd_auth", "requests_oauthlib", "oauthlib", "urllib3", "requests")


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_nothing_secret_escapes(
    fake: FakeOfficeRND, clock: FakeClock, debug_everywhere: pytest.LogCaptureFixture
) -> None:
    app = fake.add_app(["flex.community.members.read"], client_secret=SECRET)
    seen: list[str] = []

    def session(**kwargs: object) -> OfficeRNDSession:
        options: dict[str, object] = {
            "scope": "flex.community.members.read",
            "org": "acme",
            "clock": clock,
            "token_url": fake.token_url,
            "api_url": fake.api_url,
            "sleep": lambda _: None,
            "token_budget": None,
        }
        options.update(kwargs)
        return OfficeRNDSession(app.client_id, SECRET, **options)  # type: ignore[arg-type]

    def attempt(fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except OfficeRNDAuthError as exc:
            seen.append(str(exc))
            seen.append(repr(exc))
            seen.append("".join(traceback.format_exception(exc)))
            seen.extend(str(v) for v in vars(exc).values())

    main = session()
    attempt(lambda: main.get("members"))
    fake.expire_tokens()
    attempt(lambda: main.get("members"))  # 401 healed
    attempt(lambda: session(scope="flex.community.members.read").get("bookings"))  # 401 twice
    faults = [
        Fault.server_error(),
        Fault.not_json(),
        Fault.no_access_token(),
        Fault.expires_in("x"),
        Fault.drop(),
        Fault.rate_limited(5),
        Fault.respond(
            400,
            json.dumps(
                {"error": "invalid_request", "error_description": f"client_secret={SECRET} is odd"}
            ),
        ),
        Fault.respond(
            500, f"<pre>client_secret={SECRET}&access_token={'c' * 40}</pre>", "text/html"
        ),
        Fault.respond(200, f"access_token={'d' * 40}&client_secret={SECRET}", "text/plain"),
        Fault.narrow_scope(),
    ]
    for fault in faults:
        fake.fail_next_token_requests(fault, count=3)
        attempt(lambda: session(max_token_retries=0).fetch_token())
        fake.clear_faults()
        clock.advance(120)
    attempt(
        lambda: OfficeRNDSession(
            app.client_id,
            "wrong" + SECRET,
            "flex.community.members.read",
            token_url=fake.token_url,
            org="acme",
            api_url=fake.api_url,
            clock=clock,
        ).get("members")
    )
    auth = OfficeRNDAuth(
        app.client_id,
        SECRET,
        "flex.community.members.read",
        token_url=fake.token_url,
        allowed_hosts=[f"127.0.0.1:{fake.port}"],
        clock=clock,
    )
    requests.get(f"{fake.api_url}/api/v2/organizations/acme/members", auth=auth, timeout=5)
    token = main.provider.current_token()
    seen += [
        repr(main),
        str(main),
        main._repr_html_(),
        repr(auth),
        repr(main.provider),
        repr(main.provider.client),
        repr(token),
        str(token),
        repr(fake),
        repr(fake.token_requests),
        repr(fake.api_requests),
        repr(app),
    ]
    seen += [record.getMessage() for record in debug_everywhere.records]
    seen += [record.exc_text or "" for record in debug_everywhere.records]
    text = "\n".join(seen)
    assert len(debug_everywhere.records) > 10  # logging really was on
    assert "invalid_client" in text  # the error paths really ran
    assert SECRET not in text
    for issued in [*fake.issued_tokens(), "c" * 40, "d" * 40]:
        assert issued not in text
