"""Every way the token endpoint can fail maps to one exception class with a useful message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from officernd_auth import (
    InvalidClientError,
    InvalidScopeError,
    OfficeRNDSession,
    RateLimitedError,
    ScopeNotGrantedError,
    ScopeNotGrantedWarning,
    TokenEndpointError,
    TokenRequestError,
)
from officernd_auth.testing import App, FakeClock, FakeOfficeRND, Fault


@pytest.mark.parametrize(
    ("fault", "error", "status", "needle"),
    [
        (Fault.server_error(500), TokenEndpointError, 500, "HTTP 500"),
        (Fault.server_error(502), TokenEndpointError, 502, "Service Unavailable"),
        (Fault.not_json(), TokenEndpointError, 200, "not JSON"),
        (Fault.no_access_token(), TokenEndpointError, 200, "without an access_token"),
        (Fault.expires_in("soon"), TokenEndpointError, 200, "unusable expires_in"),
        (Fault.expires_in(-5), TokenEndpointError, 200, "unusable expires_in"),
        (Fault.expires_in(0), TokenEndpointError, 200, "unusable expires_in"),
        (Fault.expires_in(10**12), TokenEndpointError, 200, "unusable expires_in"),
        (Fault.empty_body(200), TokenEndpointError, 200, "not JSON"),
        (Fault.empty_body(500), TokenEndpointError, 500, "no body"),
        (Fault.respond(200, "[1, 2]"), TokenEndpointError, 200, "not an object"),
        (
            Fault.respond(200, '{"access_token": "x", "token_type": "mac"}'),
            TokenEndpointError,
            200,
            "only Bearer",
        ),
        (
            Fault.respond(404, "<h1>Not Found</h1>", "text/html"),
            TokenEndpointError,
            404,
            "Not Found",
        ),
        (
            Fault.respond(302, "", headers={"Location": "https://elsewhere.example/"}),
            TokenEndpointError,
            302,
            "redirected",
        ),
        (Fault.respond(400, '{"error": "invalid_client"}'), InvalidClientError, 400, "client id"),
        (Fault.respond(401, ""), InvalidClientError, 401, "check the client id"),
        (
            Fault.respond(400, '{"error": "unauthorized_client"}'),
            InvalidScopeError,
            400,
            "Settings -> Developer Tools -> Applications",
        ),
        (
            Fault.respond(400, '{"error": "invalid_request"}'),
            TokenRequestError,
            400,
            "invalid_request",
        ),
        (Fault.rate_limited(), RateLimitedError, 429, "5 token requests a minute"),
        (
            Fault.respond(200, '{"error": "invalid_scope"}'),
            InvalidScopeError,
            400,
            "request fewer scopes",
        ),
    ],
)
def test_fault_maps_to_class(
    make_session: Callable[..., OfficeRNDSession],
    fake: FakeOfficeRND,
    clock: FakeClock,
    fault: Fault,
    error: type[Exception],
    status: int,
    needle: str,
) -> None:
    session = make_session(max_token_retries=0)
    fake.fail_next_token_requests(fault)
    with pytest.raises(error) as info:
        session.get("members")
    assert type(info.value) is error
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert needle in str(info.value)
    assert fake.token_request_count == 1
    if error is RateLimitedError:
        clock.advance(61)  # a 429 blocks token requests until it has passed
    assert session.get("members").status_code == 200  # the next call after the fault succeeds


def test_wrong_secret(make_session: Callable[..., OfficeRNDSession]) -> None:
    with pytest.raises(InvalidClientError) as info:
        make_session(client_secret="wrong").get("members")
    assert info.value.error == "invalid_client"
    assert info.value.description == "Client authentication failed"
    assert info.value.status_code == 401


def test_scope_not_granted_to_the_app(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    with pytest.raises(InvalidScopeError) as info:
        make_session(scope="flex.billing.charges.read").get("members")
    assert "Settings -> Developer Tools -> Applications -> Configure" in str(info.value)
    assert info.value.error == "invalid_scope"


@pytest.mark.parametrize(
    "fault",
    [Fault.drop(), Fault.slow(1.0)],
    ids=["dropped", "timeout"],
)
def test_transport_failures_are_endpoint_errors(
    fake: FakeOfficeRND, app: App, clock: object, fault: Fault
) -> None:
    from officernd_auth.provider import TokenProvider

    provider = TokenProvider(
        app.client_id,
        app.client_secret,
        ("flex.community.members.read",),
        token_url=fake.token_url,
        max_token_retries=0,
        token_timeout=(1.0, 0.3),
    )
    fake.fail_next_token_requests(fault)
    with pytest.raises(TokenEndpointError) as info:
        provider.get_token()
    assert info.value.status_code is None
    assert fake.token_request_count == 1


def test_transport_failure_is_retried(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, sleeps: list[float]
) -> None:
    fake.fail_next_token_requests(Fault.drop())
    assert make_session().get("members").status_code == 200
    assert fake.token_request_count == 2
    assert len(sleeps) == 1


def test_non_5xx_errors_are_not_retried(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.fail_next_token_requests(Fault.not_json(), count=3)
    with pytest.raises(TokenEndpointError):
        make_session().get("members")
    assert fake.token_request_count == 1


@pytest.mark.parametrize("value", ["3599", 3599.5, "  120 "])
def test_numeric_expires_in_is_accepted(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, value: object
) -> None:
    fake.fail_next_token_requests(Fault.expires_in(value))
    session = make_session()
    assert session.get("members").status_code == 200
    assert session.token["expires_in"] == int(float(str(value)))


def test_missing_expires_in_assumes_an_hour(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.fail_next_token_requests(Fault.no_expires_in())
    session = make_session()
    assert session.get("members").status_code == 200
    assert session.token["expires_in"] == 3599


def test_narrower_grant_raises_with_missing(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.fail_next_token_requests(Fault.narrow_scope())
    with pytest.raises(ScopeNotGrantedError) as info:
        make_session().get("members")
    assert info.value.missing == frozenset({"flex.space.bookings.read"})
    assert "flex.space.bookings.read" in str(info.value)


def test_narrower_grant_can_warn_and_use_the_token(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.fail_next_token_requests(Fault.narrow_scope())
    session = make_session(strict_scopes=False)
    with pytest.warns(ScopeNotGrantedWarning, match="flex.space.bookings.read"):
        assert session.get("members").status_code == 200
    assert session.get("members").status_code == 200
    assert fake.token_request_count == 1


def test_no_scope_in_answer_means_granted(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND
) -> None:
    fake.fail_next_token_requests(Fault.no_scope())
    session = make_session()
    assert session.get("members").status_code == 200
    assert set(session.token["scope"]) == {
        "flex.community.members.read",
        "flex.space.bookings.read",
    }


def test_wider_grant_is_accepted(
    make_session: Callable[..., OfficeRNDSession], fake: FakeOfficeRND, app: App
) -> None:
    fake.fail_next_token_requests(
        Fault.respond(
            200,
            '{"access_token": "' + "b" * 40 + '", "token_type": "Bearer", '
            '"expires_in": 3599, "scope": "flex.community.members.read '
            'flex.space.bookings.read flex.space.locations.read"}',
        )
    )
    session = make_session()
    session.fetch_token()
    assert "flex.space.locations.read" in session.token["scope"]


def test_the_oauthlib_subclasses_load_on_first_use_under_their_public_names() -> None:
    # A fresh interpreter: importing the errors module imports no oauthlib; naming one of the
    # token-endpoint errors loads them, as oauthlib's subclasses, reported and pickled as
    # officernd_auth.errors classes.
    import subprocess
    import sys

    code = """if True:
        import pickle, sys
        import officernd_auth.errors as errors
        assert "oauthlib" not in sys.modules
        from oauthlib.oauth2 import InvalidClientError, OAuth2Error
        assert issubclass(errors.TokenRequestError, OAuth2Error)
        assert issubclass(errors.InvalidClientError, InvalidClientError)
        for name in ("TokenRequestError", "RateLimitedError", "TokenEndpointError"):
            cls = getattr(errors, name)
            assert cls.__module__ == "officernd_auth.errors" and cls.__qualname__ == name
        error = pickle.loads(pickle.dumps(errors.RateLimitedError("wait", retry_after=3.0)))
        assert type(error) is errors.RateLimitedError and error.retry_after == 3.0
        assert "TokenRequestError" in dir(errors)
        try:
            errors.NoSuchError
        except AttributeError:
            pass
        else:
            raise AssertionError("no such error")
        print("ok")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
