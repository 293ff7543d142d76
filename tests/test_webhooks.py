"""Webhook signatures (``officernd_auth.core.webhooks``) and the emulator's signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from officernd_auth import ConfigurationError, WebhookPayloadError, WebhookSignatureError
from officernd_auth.core.webhooks import parse_event, sign, verify_signature
from officernd_auth.testing import FakeOfficeRND, ReceivedWebhook, WebhookReceiver

SECRET = "whsec_5vP1cK2nQ"
BODY = b'{"eventType": "member.removed", "data": {"object": {"_id": "m1"}}}'
NOW = 1_800_000_000


def independent(body: bytes, secret: str, timestamp: int) -> str:
    """The scheme of shared/OFFICERND.md, written out with nothing of ours."""
    mac = hmac.new(secret.encode(), body + b"." + str(timestamp).encode(), hashlib.sha256)
    return mac.hexdigest()


# -- known answers --------------------------------------------------------------------------------


def test_known_answer_vectors() -> None:
    # Computed by hand with Python's hmac: HMAC-SHA256(secret, body + "." + timestamp).
    assert (
        independent(b"{}", "s3cret", 1700000000)
        == hmac.new(b"s3cret", b"{}.1700000000", hashlib.sha256).hexdigest()
    )
    header = sign(BODY, SECRET, timestamp=NOW)
    assert header == f"t={NOW},signature={independent(BODY, SECRET, NOW)}"
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize(
    "header",
    [
        f"t={NOW},v1={independent(BODY, SECRET, NOW)}",  # other key names: read by position
        f"  ts = {NOW} ,  sig = {independent(BODY, SECRET, NOW).upper()}  ",  # spaces, upper hex
    ],
)
def test_header_is_read_by_position(header: str) -> None:
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


def test_str_and_bytes_payloads_agree() -> None:
    text = BODY.decode()
    assert verify_signature(text, sign(BODY, SECRET, NOW), SECRET, now=NOW) == NOW
    assert verify_signature(BODY, sign(text, SECRET, NOW), SECRET, now=NOW) == NOW
    with pytest.raises(TypeError, match="raw body"):
        verify_signature(json.loads(BODY), sign(BODY, SECRET, NOW), SECRET, now=NOW)  # type: ignore[arg-type]


def test_non_utf8_bodies_are_signed_as_bytes() -> None:
    body = b"\xff\xfe\x00not utf-8"
    assert verify_signature(body, sign(body, SECRET, NOW), SECRET, now=NOW) == NOW


# -- failures say which check failed, never the expected signature or the secret ------------------


def failure(body: bytes | str, header: str | None, secret: object = SECRET, **kw: float) -> str:
    with pytest.raises(WebhookSignatureError) as info:
        verify_signature(body, header, secret, now=kw.pop("now", NOW), **kw)  # type: ignore[arg-type]
    text = str(info.value)
    assert SECRET not in text
    assert independent(BODY, SECRET, NOW) not in text
    return text


def test_tampered_body_and_timestamp() -> None:
    header = sign(BODY, SECRET, NOW)
    assert "does not match" in failure(BODY + b" ", header)
    signature = header.split("signature=")[1]
    assert "does not match" in failure(BODY, f"t={NOW + 1},signature={signature}")


def test_stale_and_future_timestamps() -> None:
    assert "old" in failure(BODY, sign(BODY, SECRET, NOW - 301))
    assert "future" in failure(BODY, sign(BODY, SECRET, NOW + 301))
    assert verify_signature(BODY, sign(BODY, SECRET, NOW - 300), SECRET, now=NOW) == NOW - 300
    assert "old" in failure(BODY, sign(BODY, SECRET, NOW - 61), tolerance=60)


def test_wrong_secret_and_rotation() -> None:
    header = sign(BODY, SECRET, NOW)
    assert "does not match" in failure(BODY, header, "another")
    assert verify_signature(BODY, header, ["old-secret", SECRET], now=NOW) == NOW
    assert verify_signature(BODY, header, [SECRET.encode()], now=NOW) == NOW
    with pytest.raises(ConfigurationError):
        verify_signature(BODY, header, [], now=NOW)


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    header = sign(BODY, SECRET, NOW)
    monkeypatch.delenv("OFFICERND_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="OFFICERND_WEBHOOK_SECRET"):
        verify_signature(BODY, header, now=NOW)
    monkeypatch.setenv("OFFICERND_WEBHOOK_SECRET", SECRET)
    assert verify_signature(BODY, header, now=NOW) == NOW


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no officernd-signature"),
        ("", "no officernd-signature"),
        (f"t={NOW}", "1 segment"),
        (f"t={NOW},signature=ab,extra=1", "3 segment"),
        (f"t={NOW},t={NOW},signature={'a' * 64}", "3 segment"),  # duplicated key
        (f"{NOW},{'a' * 64}", "not key=value"),
        (f"t=12.5,signature={'a' * 64}", "not a decimal"),
        (f"t=-5,signature={'a' * 64}", "not a decimal"),
        (f"t={NOW},signature={'g' * 64}", "not 64 hex"),
        (f"t={NOW},signature={'a' * 63}", "not 64 hex"),
        (f"t={NOW},signature={'a' * 5000}", "characters long"),
    ],
)
def test_malformed_headers(header: str | None, reason: str) -> None:
    assert reason in failure(BODY, header)


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=300) | st.none(), body=st.binary(max_size=64))
def test_any_header_gives_only_our_error(header: str | None, body: bytes) -> None:
    try:
        verify_signature(body, header, SECRET, now=NOW)
    except WebhookSignatureError:
        return


def test_parse_event() -> None:
    event = parse_event(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW)
    assert event["eventType"] == "member.removed"
    assert event["data"]["object"]["_id"] == "m1"
    for body in (b"not json", b"[1]", b'{"data": {}}', b'{"eventType": "x"}', b"[" * 50_000):
        with pytest.raises(WebhookPayloadError):
            parse_event(body, sign(body, SECRET, NOW), SECRET, now=NOW)
    with pytest.raises(WebhookSignatureError):
        parse_event(BODY, sign(BODY, "other", NOW), SECRET, now=NOW)


# -- the emulator delivers ------------------------------------------------------------------------


def verifying(secret: str) -> object:
    def answer(request: ReceivedWebhook) -> int:
        try:
            parse_event(request.body, request.signature, secret)
        except (WebhookSignatureError, WebhookPayloadError):
            return 400
        return 200

    return answer


def test_api_changes_are_delivered_signed(
    fake: FakeOfficeRND, officernd_webhook_receiver: WebhookReceiver
) -> None:
    officernd_webhook_receiver.answer = verifying("my-secret")  # type: ignore[assignment]
    fake.add_webhook(officernd_webhook_receiver.url, secret="my-secret")
    app = fake.add_app(["flex.community.members.create", "flex.community.members.delete"])
    token = fake.issue_token(app)
    headers = {"Authorization": f"Bearer {token}"}
    url = fake.api_url + "/api/v2/organizations/acme/members"
    created = requests.post(url, json={"name": "Ada"}, headers=headers, timeout=5).json()
    requests.delete(f"{url}/{created['_id']}", headers=headers, timeout=5)
    deliveries = fake.wait_for_webhooks(2)
    assert sorted(d.event_type for d in deliveries) == ["member.created", "member.removed"]
    assert all(d.delivered and d.attempts == 1 for d in deliveries)
    received = officernd_webhook_receiver.wait(2)
    events = sorted(json.loads(r.body)["eventType"] for r in received)
    assert events == ["member.created", "member.removed"]
    assert all(r.path == "/webhook" for r in received)


def test_webhooks_registered_through_the_api(
    fake: FakeOfficeRND, officernd_webhook_receiver: WebhookReceiver
) -> None:
    app = fake.add_app(["flex.settings.webhooks.create", "flex.community.companies.update"])
    token = fake.issue_token(app)
    headers = {"Authorization": f"Bearer {token}"}
    base = fake.api_url + "/api/v2/organizations/acme"
    hook = requests.post(
        f"{base}/webhooks",
        json={"url": officernd_webhook_receiver.url, "events": ["company.updated"]},
        headers=headers,
        timeout=5,
    ).json()
    officernd_webhook_receiver.answer = verifying(hook["secret"])  # type: ignore[assignment]
    company = fake.records("companies")[0]["_id"]
    assert requests.put(
        f"{base}/companies/{company}", json={"name": "Renamed"}, headers=headers, timeout=5
    ).ok
    delivery = fake.wait_for_webhooks(1)[0]
    assert delivery.event_type == "company.updated"
    assert delivery.delivered
    assert delivery.event["data"]["object"]["name"] == "Renamed"


def test_failing_receivers_are_retried_a_bounded_number_of_times(
    fake: FakeOfficeRND, officernd_webhook_receiver: WebhookReceiver
) -> None:
    answers = iter([503, 500, 200])
    officernd_webhook_receiver.answer = lambda request: next(answers)  # type: ignore[assignment]
    delivery = fake.send_webhook(
        officernd_webhook_receiver.url, "booking.created", {"object": {}}, secret="s"
    )
    assert delivery.delivered
    assert delivery.attempts == 3
    officernd_webhook_receiver.answer = lambda request: 500  # type: ignore[assignment]
    failed = fake.send_webhook(officernd_webhook_receiver.url, "booking.created", {}, secret="s")
    assert failed.attempts == 3
    assert not failed.delivered
    assert failed.status == 500
    with WebhookReceiver() as stopped:
        url = stopped.url
    gone = fake.send_webhook(url, "booking.created", {}, secret="s")  # nobody listens any more
    assert gone.status is None
    assert gone.error


# -- the CLI --------------------------------------------------------------------------------------

SCRIPT = shutil.which("officernd-auth", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize(("secret", "code"), [(SECRET, 0), ("wrong", 1), (None, 2)])
def test_cli_webhook_verify(secret: str | None, code: int) -> None:
    assert SCRIPT is not None
    header = sign(BODY, SECRET, int(time.time()))
    environment = {k: v for k, v in os.environ.items() if k != "OFFICERND_WEBHOOK_SECRET"}
    if secret is not None:
        environment["OFFICERND_WEBHOOK_SECRET"] = secret
    done = subprocess.run(
        [SCRIPT, "webhook", "verify", "--signature", header],
        input=BODY, capture_output=True, env=environment, timeout=60, check=False,
        start_new_session=True,  # no terminal: no prompt
    )  # fmt: skip
    assert done.returncode == code
    output = (done.stdout + done.stderr).decode()
    assert SECRET not in output
    assert "Traceback" not in output
    if code == 0:
        assert "valid: member.removed" in output
    else:
        assert done.stderr.decode().count("\n") == 1
