"""``OfficeRNDClient`` and ``AsyncOfficeRNDClient`` against the emulator over loopback: the
session's conveniences on httpx, the token request over the client's own connection settings
(never its hooks or headers), respx seeing the token request, and the event loop never waiting."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from http_library import NAME, AsyncOfficeRNDClient, OfficeRNDAuth, OfficeRNDClient, httpx

from officernd_auth import ConfigurationError, OfficeRNDSession
from officernd_auth.cache import MemoryTokenCache
from officernd_auth.testing import App, FakeOfficeRND, Fault

SCOPE = "flex.community.members.read"


@pytest.fixture
def live_app(live: FakeOfficeRND) -> App:
    return live.add_app([SCOPE, "flex.community.members.create", "officernd.api.read"])


def _options(live: FakeOfficeRND, app: App, **options: Any) -> dict[str, Any]:
    options.setdefault("token_cache", MemoryTokenCache())
    return {
        "client_id": app.client_id, "client_secret": app.client_secret,
        "scope": options.pop("scope", SCOPE), "org": options.pop("org", "acme"),
        "token_url": live.token_url, "api_url": live.api_url, **options,
    }  # fmt: skip


class Recording(httpx.HTTPTransport):
    """The user's own transport: records every request it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return super().handle_request(request)


class AsyncRecording(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[httpx.Request] = []
        self.threads: set[int] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import threading

        self.seen.append(request)
        self.threads.add(threading.get_ident())
        return await super().handle_async_request(request)


def test_short_paths_paging_and_one_token_request(live: FakeOfficeRND, live_app: App) -> None:
    with OfficeRNDClient(**_options(live, live_app)) as client:
        assert str(client.base_url) == f"{live.api_url}/api/v2/organizations/acme/"
        response = client.get("members")
        assert response.status_code == 200
        assert str(response.url) == f"{live.api_url}/api/v2/organizations/acme/members"
        members = list(client.paginate("members", page_size=7))
        assert len(members) > 7
        assert len({m["_id"] for m in members}) == len(members)
        with pytest.raises(ValueError, match="leave the organisation"):
            client.get("../other/members")
        with pytest.raises(httpx.HTTPStatusError):
            list(client.paginate("no-such-list"))
    assert live.token_request_count == 1
    with OfficeRNDSession(**_options(live, live_app)) as session:
        assert [m["_id"] for m in members] == [m["_id"] for m in session.paginate("members")]


def test_v1_paging_through_the_header_cursor(live: FakeOfficeRND, live_app: App) -> None:
    options = _options(live, live_app, scope="officernd.api.read", api_version="v1")
    with OfficeRNDClient(**options) as client:
        members = list(client.paginate("members", page_size=9))
    with OfficeRNDSession(**options) as session:
        assert [m["_id"] for m in members] == [m["_id"] for m in session.paginate("members")]


def test_the_token_request_goes_over_the_clients_transport_not_its_hooks(
    live: FakeOfficeRND, live_app: App
) -> None:
    transport = Recording()
    hooked: list[str] = []
    options = _options(live, live_app, transport=transport, headers={"X-Trace": "mine"})
    options["event_hooks"] = {"request": [lambda request: hooked.append(str(request.url))]}
    with OfficeRNDClient(**options) as client:
        assert client.get("members").status_code == 200
    token_requests = [r for r in transport.seen if str(r.url) == live.token_url]
    assert len(token_requests) == 1
    assert "X-Trace" not in token_requests[0].headers  # the client's headers stay on its calls
    assert "Authorization" not in token_requests[0].headers
    assert hooked == [f"{live.api_url}/api/v2/organizations/acme/members"]
    assert [r.headers["X-Trace"] for r in transport.seen if r not in token_requests] == ["mine"]


def test_a_redirecting_token_endpoint_is_not_followed(live: FakeOfficeRND, live_app: App) -> None:
    live.fail_next_token_requests(
        Fault.respond(302, "", headers={"Location": "http://127.0.0.1:9/steal"}), 5
    )
    client = OfficeRNDClient(**_options(live, live_app, max_token_retries=0))
    with client, pytest.raises(Exception, match="302") as raised:
        client.get("members")
    assert live_app.client_secret not in repr(raised.value)


def test_api_429_is_retried_on_idempotent_calls_only(live: FakeOfficeRND, live_app: App) -> None:
    sleeps: list[float] = []
    scope = f"{SCOPE} flex.community.members.create"
    with OfficeRNDClient(**_options(live, live_app, scope=scope, sleep=sleeps.append)) as client:
        live.fail_next_api_requests(Fault.respond(429, "{}", headers={"Retry-After": "3"}))
        assert client.get("members").status_code == 200
        assert sleeps == [3.0]
        live.fail_next_api_requests(Fault.respond(429, "{}", headers={"Retry-After": "999"}), 5)
        assert client.get("members").status_code == 429  # bounded: 2 retries, then handed back
        assert sleeps == [3.0, 30.0, 30.0]
        live.clear_faults()
        live.fail_next_api_requests(Fault.respond(429, "{}"))
        assert client.post("members", json={"name": "x"}).status_code == 429
        assert len(sleeps) == 3


def test_a_wrong_organisation_is_explained(
    live: FakeOfficeRND, live_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    client = OfficeRNDClient(**_options(live, live_app, org="acme-typo"))
    with client, caplog.at_level(logging.WARNING):
        assert client.get("members").status_code == 500
    assert "Organization not found" in caplog.text
    assert "acme-typo" in caplog.text


@pytest.mark.parametrize(
    ("keyword", "value", "says"),
    [
        ("auth", ("u", "p"), "authenticates itself"),
        ("base_url", "https://example.com", "org= and api_url="),
        ("proxies", {"https": "http://proxy"}, "proxy= or mounts="),
    ],
)
def test_keywords_that_cannot_work_are_refused_with_the_reason(
    keyword: str, value: object, says: str
) -> None:
    for cls in (OfficeRNDClient, AsyncOfficeRNDClient):
        with pytest.raises(ConfigurationError, match=says):
            cls("id", "secret", SCOPE, org="acme", **{keyword: value})


def test_environment_and_missing_settings_as_for_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OFFICERND_CLIENT_ID", "env-id")
    monkeypatch.setenv("OFFICERND_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("OFFICERND_SCOPE", SCOPE)
    monkeypatch.setenv("OFFICERND_ORG", "envorg")
    client = OfficeRNDClient()
    assert client.org == "envorg"
    assert client.url_for("members").endswith("/api/v2/organizations/envorg/members")
    assert "env-secret-value" not in repr(client)
    client.close()
    monkeypatch.delenv("OFFICERND_ORG")
    monkeypatch.delenv("OFFICERND_CLIENT_SECRET")
    with pytest.raises(ConfigurationError, match="OFFICERND_CLIENT_SECRET"):
        AsyncOfficeRNDClient()


@pytest.mark.skipif(NAME != "httpx", reason="respx has no httpx2 support yet (its pull request)")
def test_respx_sees_the_token_request_sync_and_async() -> None:
    import respx

    token_url = "https://identity.officernd.com/oauth/token"
    members = "https://app.officernd.com/api/v2/organizations/acme/members"
    answer = {"access_token": "a" * 40, "token_type": "Bearer", "expires_in": 3600,
              "scope": SCOPE}  # fmt: skip
    with respx.mock(assert_all_called=True) as mock:
        token = mock.post(token_url).respond(200, json=answer)
        api = mock.get(members).respond(200, json={"results": [{"_id": "m1"}]})
        with OfficeRNDClient("id", "secret", SCOPE, org="acme",
                             token_cache=MemoryTokenCache()) as client:  # fmt: skip
            assert [m["_id"] for m in client.paginate("members")] == ["m1"]

        async def main() -> list[str]:
            async with AsyncOfficeRNDClient(
                "id2", "secret", SCOPE, org="acme", token_cache=MemoryTokenCache()
            ) as client:
                return [m["_id"] async for m in client.paginate("members")]

        assert asyncio.run(main()) == ["m1"]
        auth = OfficeRNDAuth("id3", "secret", SCOPE, token_cache=MemoryTokenCache())
        assert httpx.get(members, auth=auth).status_code == 200
    assert token.call_count == 3
    assert all(c.request.headers["Authorization"] == "Bearer " + "a" * 40 for c in api.calls)


def test_async_token_request_goes_over_the_clients_async_transport_on_its_loop(
    live: FakeOfficeRND, live_app: App
) -> None:
    live.fail_next_token_requests(Fault.slow(1.0))
    transport = AsyncRecording()
    late: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.01)
            late.append(time.monotonic() - started - 0.01)

    async def main() -> list[int]:
        import threading

        stop = asyncio.Event()
        beating = asyncio.create_task(heartbeat(stop))
        async with AsyncOfficeRNDClient(**_options(live, live_app, transport=transport)) as c:
            first = await c.get("members")  # the 1 s token request: the heartbeat goes on
            stop.set()
            await beating
            answers = [first, *await asyncio.gather(*(c.get("members") for _ in range(49)))]
        assert transport.threads == {threading.get_ident()}  # every send on this loop
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 50
    assert live.token_request_count == 1
    assert [str(r.url) for r in transport.seen].count(live.token_url) == 1
    assert max(late) < 0.25  # blocked, it would be ~1 s late (the 50 ms bound: test_httpx.py)


def test_cancelling_the_task_that_fetches_leaves_a_token_for_the_next(
    live: FakeOfficeRND, live_app: App
) -> None:
    live.fail_next_token_requests(Fault.slow(1.0))

    async def main() -> int:
        async with AsyncOfficeRNDClient(**_options(live, live_app)) as client:
            first = asyncio.create_task(client.get("members"))
            await asyncio.sleep(0.3)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            return (await client.get("members")).status_code

    assert asyncio.run(main()) == 200
    assert live.token_request_count == 1


def test_a_shared_provider_keeps_its_transport_and_token(
    live: FakeOfficeRND, live_app: App
) -> None:
    with OfficeRNDSession(**_options(live, live_app)) as session:
        assert session.get("members").status_code == 200
        with OfficeRNDClient(provider=session.provider, org="acme", api_url=live.api_url) as c:
            assert c.get("members").status_code == 200
            assert c.provider is session.provider
    assert live.token_request_count == 1


def test_a_subclass_and_a_mixin_after_ours_still_see_every_call(
    live: FakeOfficeRND, live_app: App
) -> None:
    seen: list[str] = []

    class Tracing(httpx.Client):
        def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            seen.append(str(request.url))
            return super().send(request, **kwargs)

    class Mine(OfficeRNDClient, Tracing):
        pass

    with Mine(**_options(live, live_app)) as client:
        assert client.get("members").status_code == 200
    assert seen == [f"{live.api_url}/api/v2/organizations/acme/members"]


def test_the_token_goes_only_to_the_api_origin_sync_and_async(
    live: FakeOfficeRND, live_app: App
) -> None:
    seen: list[httpx.Headers] = []

    def foreign(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    other = "http://127.0.0.2:8443"  # another host: another origin
    mounts = {other: httpx.MockTransport(foreign)}
    with OfficeRNDClient(**_options(live, live_app), mounts=mounts) as client:
        assert client.get("members").status_code == 200  # the token is held
        assert client.get(f"{other}/x").status_code == 401  # not healed: not our origin

    async def main() -> int:
        amounts = {other: httpx.MockTransport(foreign)}
        async with AsyncOfficeRNDClient(**_options(live, live_app), mounts=amounts) as client:
            assert (await client.get("members")).status_code == 200
            return (await client.get(f"{other}/y")).status_code

    assert asyncio.run(main()) == 200
    assert [h.get("Authorization") for h in seen] == [None, None]
    assert live.token_request_count == 2  # one per client (each its own memory cache)


def test_a_revoked_token_is_healed_once_sync_and_async(live: FakeOfficeRND, live_app: App) -> None:
    with OfficeRNDClient(**_options(live, live_app)) as client:
        assert client.get("members").status_code == 200
        live.expire_tokens()  # revoked at the server: the next call is answered 401
        healed = client.get("members")
    assert healed.status_code == 200
    assert [r.status_code for r in healed.history] == [401]

    async def main() -> list[int]:
        async with AsyncOfficeRNDClient(**_options(live, live_app)) as client:
            assert (await client.get("members")).status_code == 200
            live.expire_tokens()
            answer = await client.get("members")
            return [r.status_code for r in answer.history] + [answer.status_code]

    assert asyncio.run(main()) == [401, 200]
    assert live.token_request_count == 4


def test_building_the_token_client_does_not_count_against_the_read_timeout(
    live: FakeOfficeRND, live_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our httpx client for token requests is built on first use (a TLS context: tens of
    # milliseconds, more on a loaded machine). Slowed to 0.6 s here, against a 0.3 s read
    # timeout: counted, the first answer would be "too slow" and a second request sent.
    class SlowClient(httpx.Client):
        def __init__(self, **settings: Any) -> None:
            time.sleep(0.6)
            super().__init__(**settings)

    class SlowAsyncClient(httpx.AsyncClient):
        def __init__(self, **settings: Any) -> None:
            time.sleep(0.6)
            super().__init__(**settings)

    monkeypatch.setattr(httpx, "Client", SlowClient)
    monkeypatch.setattr(httpx, "AsyncClient", SlowAsyncClient)
    options = _options(live, live_app, token_timeout=(2.0, 0.3))
    with OfficeRNDClient(**options) as client:
        assert client.get("members").status_code == 200
    assert live.token_request_count == 1

    async def main() -> int:
        given = _options(live, live_app, token_timeout=(2.0, 0.3))
        async with AsyncOfficeRNDClient(**given) as client:
            return (await client.get("members")).status_code

    assert asyncio.run(main()) == 200
    assert live.token_request_count == 2
