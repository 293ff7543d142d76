"""What the token caches and the CLI's cached-token path share, importing only ``os``, ``stat``
and ``json``: the key scheme, the record format, and reading a record file of ours by the trust
rules. ``officernd-auth token`` prints a cached token with this module alone (no argparse, no
requests, no oauthlib, no dataclasses: benchmarks, table 4)."""

from __future__ import annotations

import json
import os
import stat

TYPE_CHECKING = False  # typing itself is not imported: see the module's docstring
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = [
    "FILE_FORMAT",
    "MAX_RECORD_BYTES",
    "cache_key",
    "is_bearer_token",
    "is_normal_url",
    "mask_client_id",
    "owner_is_not_me",
    "private_directory",
    "read_trusted",
    "record_fields",
    "renewal_leeway",
    "sha256_hex",
    "untrusted_file",
]

#: Marks our cache records, so that a record of another format is recognised and replaced.
FILE_FORMAT = "officernd-auth/token-cache/1"
#: A stored record is a few hundred bytes; anything larger is not one of ours.
MAX_RECORD_BYTES = 64 * 1024
#: Opening never follows a link where the platform can refuse to.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_INFINITY = float("inf")
#: RFC 6750 ``b64token`` characters (``token.BEARER_TOKEN`` is the same rule as a pattern).
_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` in hex, from the interpreter's built-in module when it has one
    (``hashlib`` loads OpenSSL first, which costs a cached-token CLI run a fifth of its time)."""
    digest: str = (_SHA256 or _find_sha256())(data).hexdigest()
    return digest


_SHA256: Any = None


def _find_sha256() -> Any:
    """The built-in SHA-256, looked for once (a failed import is searched for again on every
    try, through every finder on ``sys.meta_path``)."""
    global _SHA256
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # an interpreter without them
            from hashlib import sha256
    _SHA256 = sha256
    return sha256


def cache_key(token_url: str, client_id: str, client_secret: str, scopes: Iterable[str]) -> str:
    """The cache key for one credential. Contains a one-way hash of the secret, never the secret.

    Two different secrets for the same client id get different keys, so a wrong secret can never
    be answered with a token another secret obtained.
    """
    secret_hash = sha256_hex(f"{token_url}\0{client_id}\0{client_secret}".encode())
    material = json.dumps([token_url, client_id, secret_hash, sorted(set(scopes))])
    return sha256_hex(material.encode())


def is_bearer_token(value: str) -> bool:
    """True for an RFC 6750 ``b64token``: the characters a bearer token may have."""
    body = value.rstrip("=")
    return bool(body) and _B64TOKEN.issuperset(body)


def record_fields(raw: str | bytes) -> tuple[str, float, float, list[str]] | None:
    """``(access_token, expires_at, obtained_at, scopes)`` of a stored record, or ``None`` for
    anything that is not one of ours.

    Checked as a token answer is: at most ``MAX_RECORD_BYTES``, a bearer token's characters
    only (one that cannot go into a header would break every call), finite times, ``Bearer``.
    """
    if len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        record = json.loads(raw)
        if not isinstance(record, dict) or record.get("format") != FILE_FORMAT:
            return None
        access_token = _text(record["access_token"])
        expires_at, obtained_at = float(record["expires_at"]), float(record["obtained_at"])
        token_type = _text(record.get("token_type", "Bearer"))
        scopes = [_text(s) for s in record["scopes"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        return None
    finite = abs(expires_at) < _INFINITY and abs(obtained_at) < _INFINITY  # no nan, no inf
    if not is_bearer_token(access_token) or not finite or token_type.lower() != "bearer":
        return None
    return access_token, expires_at, obtained_at, scopes


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def owner_is_not_me(info: os.stat_result) -> bool:
    geteuid = getattr(os, "geteuid", None)  # absent on Windows, where ACLs decide instead
    return geteuid is not None and info.st_uid != geteuid()


def untrusted_file(info: os.stat_result) -> str:
    """Why a token file must not be used (another owner, open to others), or ``""``."""
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if owner_is_not_me(info):
        return f"it belongs to another user (uid {info.st_uid})"
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        return f"mode {stat.S_IMODE(info.st_mode):o} lets others read or write it"
    return ""


def read_trusted(
    path: str | os.PathLike[str], remove_untrusted: bool = True
) -> tuple[bytes | None, str]:
    """``(contents, "")`` of a file of ours (at most ``MAX_RECORD_BYTES``); ``(None, "")`` when
    there is none; ``(b"", why)`` when it cannot be trusted (another owner, open to others, a
    link), in which case it is removed so that ours can replace it (unless told not to)."""
    try:
        # Never blocks on a FIFO planted in its place; never follows a link.
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return b"", f"{type(exc).__name__}; a link is never followed"
    with os.fdopen(descriptor, "rb") as handle:
        untrusted = untrusted_file(os.fstat(handle.fileno()))
        raw = b"" if untrusted else handle.read(MAX_RECORD_BYTES)
    if untrusted:
        if remove_untrusted:
            try:  # noqa: SIM105 (contextlib is not imported: see the module's docstring)
                os.unlink(path)
            except OSError:
                pass
        return b"", untrusted
    return raw, "" if raw else "empty"


def private_directory(path: str) -> bool:
    """True when ``path`` is a directory of this user that no one else may read or write, as
    the file cache keeps it (checked through an opened descriptor; nothing is changed)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        info = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    return (
        stat.S_ISDIR(info.st_mode)
        and not owner_is_not_me(info)
        and not (os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077)
    )


def mask_client_id(client_id: str) -> str:
    """A client id shortened for display: enough to tell apps apart, not to copy one."""
    return client_id[:4] + "…" + client_id[-2:] if len(client_id) > 8 else "…"


def renewal_leeway(expires_at: float, obtained_at: float, leeway: float) -> float:
    """The leeway applied to a token: at most half its lifetime. Without the clamp a token that
    lives shorter than the leeway would be due for renewal on arrival, and every call would
    fetch a new one (:meth:`~officernd_auth.token.Token.effective_leeway` is this rule)."""
    return max(0.0, min(leeway, (expires_at - obtained_at) / 2))


_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_PATH_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/!$&'()*+,;=:@%"
)


def is_normal_url(url: str) -> bool:
    """True when ``url`` is already in the one spelling
    :func:`~officernd_auth.values.urls.normalise_url` gives (which takes it as it is): a lower-case
    scheme and host, no default port, no query or fragment. The cached-token command reads only
    such URLs (a cache key is made of the normalised URL); other spellings go to the full path."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in ("https", "http"):
        return False
    netloc, slash, path = rest.partition("/")
    host, colon, port = netloc.partition(":")
    if not host or not _HOST_CHARACTERS.issuperset(host):
        return False
    if colon and not (
        port.isdigit()
        and port.isascii()
        and not port.startswith("0")
        and int(port) < 65536
        and int(port) != (443 if scheme == "https" else 80)
    ):
        return False
    return not slash or _PATH_CHARACTERS.issuperset(path)
