"""officernd_auth.values.records: the rules the cached-token command shares with the package
without importing it (cache keys, stored records, bearer tokens, URL spelling, the leeway's clamp,
trusted files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from officernd_auth.cache.base import record_of
from officernd_auth.values.records import (
    FILE_FORMAT,
    MAX_RECORD_BYTES,
    cache_key,
    is_bearer_token,
    is_normal_url,
    mask_client_id,
    read_trusted,
    record_fields,
    renewal_leeway,
)
from officernd_auth.values.token import BEARER_TOKEN, Token
from officernd_auth.values.urls import parsed_spelling

TOKEN_URL = "https://identity.officernd.com/oauth/token"


URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["https", "http", "HTTPS", "ftp"]),
    st.from_regex(r"[A-Za-z0-9.\-]{1,20}", fullmatch=True),
    st.sampled_from(["", ":443", ":80", ":8080", ":0080", ":99999", ":"]),
    st.from_regex(r"(/[A-Za-z0-9%?#=._~-]{0,10}){0,3}", fullmatch=True),
)


@given(URLS)
def test_a_url_it_takes_as_normal_is_what_parsing_gives(url: str) -> None:
    """The cached-token command and normalise_url's fast path take such a URL as it is: parsing
    it must give it back unchanged."""
    if is_normal_url(url):
        assert parsed_spelling(url) == url


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12))
def test_the_bearer_rule_is_the_token_modules(value: str) -> None:
    assert is_bearer_token(value) == bool(BEARER_TOKEN.fullmatch(value))


def test_a_cache_key_names_the_credential_and_hides_the_secret() -> None:
    key = cache_key(TOKEN_URL, "client-a", "s3cr3t-value", ["b.read", "a.read"])
    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")
    assert "s3cr3t" not in key
    assert key == cache_key(TOKEN_URL, "client-a", "s3cr3t-value", ["a.read", "b.read", "a.read"])
    assert key != cache_key(TOKEN_URL, "client-a", "another-secret", ["a.read", "b.read"])
    assert key != cache_key(TOKEN_URL, "client-b", "s3cr3t-value", ["a.read", "b.read"])
    assert key != cache_key(TOKEN_URL, "client-a", "s3cr3t-value", ["a.read"])
    assert key != cache_key("https://other.example/t", "client-a", "s3cr3t-value", ["a.read"])


def test_a_stored_record_reads_back_and_anything_else_is_none() -> None:
    token = Token("ab12" * 10, expires_at=2000.0, obtained_at=1000.0, scopes=frozenset(["a.read"]))
    assert record_fields(record_of(token)) == ("ab12" * 10, 2000.0, 1000.0, ["a.read"])
    good = json.loads(record_of(token))
    for broken in (
        {**good, "format": "someone-else/1"},
        {**good, "access_token": "has space"},
        {**good, "access_token": 12345},
        {**good, "expires_at": "nan"},
        {**good, "obtained_at": float("inf")},
        {**good, "token_type": "MAC"},
        {key: value for key, value in good.items() if key != "scopes"},
    ):
        assert record_fields(json.dumps(broken)) is None, broken
    assert record_fields("[1, 2]") is None
    assert record_fields(b"\xff\xfe") is None
    assert record_fields(" " * (MAX_RECORD_BYTES + 1)) is None
    assert good["format"] == FILE_FORMAT


def test_a_client_id_is_masked_enough_to_tell_apart_not_to_copy() -> None:
    assert mask_client_id("597ae39ae42c344fa639dead") == "597a…ad"
    assert mask_client_id("short") == "…"
    assert mask_client_id("") == "…"


@given(
    st.floats(0, 1e6),
    st.floats(0, 1e5),
    st.floats(0, 1e4),
)
def test_the_leeway_is_at_most_half_a_lifetime(
    obtained: float, lifetime: float, leeway: float
) -> None:
    expires = obtained + lifetime
    lifetime = expires - obtained  # the lifetime the two times hold (rounded: 1.0 + 1e-212 is 1.0)
    applied = renewal_leeway(expires, obtained, leeway)
    assert 0.0 <= applied <= leeway
    assert applied <= lifetime / 2
    if leeway <= lifetime / 2:
        assert applied == leeway


def test_a_file_is_trusted_only_when_it_is_private_and_ours(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    assert read_trusted(path) == (None, "")
    path.write_bytes(b"{}")
    path.chmod(0o600)
    assert read_trusted(path) == (b"{}", "")
    path.chmod(0o644)
    raw, why = read_trusted(path, remove_untrusted=False)
    assert (raw, why) == (b"", "mode 644 lets others read or write it")
    assert path.exists()
    assert read_trusted(path)[1] == why
    assert not path.exists()  # removed, so that ours can replace it
    target = tmp_path / "elsewhere.json"
    target.write_bytes(b"{}")
    target.chmod(0o600)
    os.symlink(target, path)
    raw, why = read_trusted(path)
    assert raw == b""
    assert "a link is never followed" in why
