"""Keeping secrets out of text: the forms a secret can take in an echo, and the short, scrubbed
snippet of a response body that errors and logs may show. Pure text; no HTTP."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

__all__ = ["Secret", "mask_secrets", "scrub", "secret_forms"]

_SNIPPET_LENGTH = 160
# Patterns, compiled by re on first use (not at import: benchmarks, start-up table).
_HEX_RUN = r"\b[0-9a-fA-F]{32,}\b"
_TAGS = r"<[^>]*>"


def _html_unescape(text: str) -> str:
    import html  # html.entities is a large table: imported when there is text to decode

    return html.unescape(text)


def _html_escape(text: str) -> str:
    import html

    return html.escape(text)


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can come back in an echo: raw, percent- and form-encoded (either case
    of hex digits), JSON-escaped and HTML-escaped."""
    if not secret:
        return set()
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret, safe="/"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        _html_escape(secret),
    }
    return forms | {_lower_hex(form) for form in forms}


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def mask_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every form of every secret (see :func:`secret_forms`) replaced by ``***``."""
    forms = sorted({f for secret in secrets for f in secret_forms(secret)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, "***")
    return text


def _unescape_backslashes(text: str) -> str:
    """JSON, JavaScript, Go and Python escapes undone: ``\\u00E4``, ``\\u0026``, ``\\x41``,
    ``\\"``, ``\\\\``, in either case of hex digit."""

    def one(match: re.Match[str]) -> str:
        escape = match[0]
        if escape[1] in "uU":
            return chr(int(escape[2:], 16))
        if escape[1] == "x":
            return chr(int(escape[2:], 16))
        return {"n": "\n", "t": "\t", "r": "\r", "/": "/"}.get(escape[1], escape[1])

    return re.sub(_BACKSLASH_ESCAPE, one, text, flags=re.S)


_BACKSLASH_ESCAPE = r"\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)"

#: Ways an echo may have encoded what it repeats; each is undone to look for a secret.
_DECODERS = (unquote, unquote_plus, _html_unescape, _unescape_backslashes)


def _reveal(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` decoded in whatever way (and combination, a few layers deep) shows one of the
    ``secrets``, with them masked; ``text`` with its known forms masked when none does.

    Servers echo in encodings no list of spellings covers (JavaScript's encodeURIComponent,
    PHP's urlencode, Go's ``\\u0026`` JSON, upper-case ``\\u00E4``, Python's repr), so the
    text is compared after decoding instead.
    """
    text = mask_secrets(text, secrets)
    known = {form for secret in secrets for form in secret_forms(secret)}
    # With the known forms percent-encoded once more: an echo encoded three times shows one of
    # these after one unquote, a known form after two.
    forms = known | {encode(form, safe="") for form in known for encode in (quote, quote_plus)}
    for _ in range(3):
        for decode in _DECODERS:
            try:
                decoded = decode(text)
            except (ValueError, OverflowError):
                continue
            # A layer that shows the secret or one of its forms (an echo encoded twice shows
            # its percent-encoded form after one unquote).
            if decoded != text and any(form in decoded for form in forms):
                text = mask_secrets(decoded, secrets)
                break
        else:
            return text
    return text


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Shorten a response body into a one-line snippet safe to show in an error or a log.

    Known secrets are masked in every form an echo may take (compared after decoding), tags
    dropped, whitespace folded, anything that looks like a token (long hex runs) masked, and
    the result cut to a short length.
    """
    secrets = tuple(secret for secret in secrets if secret)
    text = _reveal(text, secrets)
    text = _html_unescape(re.sub(_TAGS, " ", text))
    text = _reveal(text, secrets)
    text = re.sub(_HEX_RUN, "***", text)
    text = " ".join(text.split())
    if len(text) > _SNIPPET_LENGTH:
        text = text[: _SNIPPET_LENGTH - 3] + "..."
    return text


class Secret:
    """A secret held so that no ``repr``, ``str`` or debugger view shows it.

    The front ends wrap the ``client_secret`` they are given as their first step, so that no
    frame an exception passes through holds it as plain text in a local (error trackers such as
    Sentry record every frame's locals by their ``repr``).

    Example:
        >>> Secret("hunter2")
        Secret('***')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    @classmethod
    def wrap(cls, value: object) -> Any:
        """``value`` wrapped if it is text; anything else (``None``, a wrong type) as it is."""
        return cls(value) if isinstance(value, str) else value

    @staticmethod
    def unwrap(value: object) -> object:
        """The text of a wrapped secret; anything else as it is."""
        return value.reveal() if isinstance(value, Secret) else value

    def reveal(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))
