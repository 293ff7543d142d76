"""The libraries people would pick instead, each set up the way its documentation says.

Every factory returns an object with ``get(url)`` that makes one authorised GET; the token
endpoint is the emulator's. Peers that refuse plain-http token endpoints are allowed it through
their own process-wide switches, set by :func:`allow_http_token_endpoints` for the benchmark only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from officernd_auth.testing import FakeOfficeRND

SCOPE = "flex.community.members.read"


def allow_http_token_endpoints() -> None:
    """The peers' own switches for http on loopback (officernd-auth needs none)."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    token_url: str
    api_host: str  # host[:port] the token may go to


Getter = Callable[[str], requests.Response]


def emulator(**kwargs: Any) -> FakeOfficeRND:
    fake = FakeOfficeRND(**kwargs).start()
    fake.seed_sample()
    return fake


def credentials(fake: FakeOfficeRND) -> Credentials:
    app = fake.add_app([SCOPE])
    return Credentials(app.client_id, app.client_secret, fake.token_url, f"{fake.host}:{fake.port}")


def officernd_session(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from officernd_auth import OfficeRNDSession
    from officernd_auth.cache import MemoryTokenCache

    session = OfficeRNDSession(
        c.client_id,
        c.client_secret,
        SCOPE,
        org="acme",
        token_url=c.token_url,
        api_url=kw.pop("api_url", "https://app.officernd.com"),
        token_cache=MemoryTokenCache(),
        token_budget=None,
        **kw,
    )
    session.trust_env = False
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


def officernd_auth(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from officernd_auth import OfficeRNDAuth
    from officernd_auth.cache import MemoryTokenCache

    session = requests.Session()
    session.trust_env = False
    session.auth = OfficeRNDAuth(
        c.client_id,
        c.client_secret,
        SCOPE,
        token_url=c.token_url,
        allowed_hosts=["app.officernd.com", c.api_host],
        token_cache=kw.pop("token_cache", None) or MemoryTokenCache(),
        token_budget=None,
        **kw,
    )
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


def requests_oauthlib(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client=BackendApplicationClient(c.client_id), scope=[SCOPE])
    session.trust_env = False
    session.fetch_token(
        c.token_url, client_id=c.client_id, client_secret=c.client_secret, include_client_id=True
    )
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


def authlib(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        c.client_id,
        c.client_secret,
        scope=SCOPE,
        token_endpoint=c.token_url,
        grant_type="client_credentials",
        token_endpoint_auth_method="client_secret_post",
    )
    session.trust_env = False
    session.fetch_token()  # Authlib needs a first token by hand; it re-fetches on expiry
    if adapter is not None:
        session.mount("https://", adapter)
    get: Getter = session.get
    return get


def authlib_auth(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    """Authlib's ``OAuth2Auth`` on a plain session: a token fetched by hand once, then only the
    header per request (no renewal: without a client it cannot fetch another)."""
    from authlib.integrations.requests_client import OAuth2Auth, OAuth2Session

    fetcher = OAuth2Session(
        c.client_id,
        c.client_secret,
        scope=SCOPE,
        token_endpoint=c.token_url,
        grant_type="client_credentials",
        token_endpoint_auth_method="client_secret_post",
    )
    fetcher.trust_env = False
    token = fetcher.fetch_token()
    session = requests.Session()
    session.trust_env = False
    session.auth = OAuth2Auth(token)
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


def requests_oauth2client(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from requests_oauth2client import OAuth2Client, OAuth2ClientCredentialsAuth

    client = OAuth2Client(
        token_endpoint=c.token_url,
        client_id=c.client_id,
        client_secret=c.client_secret,
        testing=True,
    )
    session = requests.Session()
    session.trust_env = False
    session.auth = OAuth2ClientCredentialsAuth(client, scope=SCOPE)
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


def requests_auth(c: Credentials, adapter: Any = None, **kw: Any) -> Getter:
    from requests_auth import OAuth2ClientCredentials

    session = requests.Session()
    session.trust_env = False
    session.auth = OAuth2ClientCredentials(c.token_url, c.client_id, c.client_secret, scope=SCOPE)
    if adapter is not None:
        session.mount("https://", adapter)
    return session.get


#: name -> factory, ours first.
LIBRARIES: dict[str, Callable[..., Getter]] = {
    "officernd-auth (session)": officernd_session,
    "officernd-auth (auth)": officernd_auth,
    "requests-oauthlib": requests_oauthlib,
    "authlib": authlib,
    "authlib (OAuth2Auth)": authlib_auth,
    "requests-oauth2client": requests_oauth2client,
    "requests-auth": requests_auth,
}
