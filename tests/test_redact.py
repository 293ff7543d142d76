"""officernd_auth.values.redact: a secret never comes back in a snippet, whatever encoding an
echo gave it; snippets are one short line; a held secret has no readable repr. (The fuzzing of
echoes is a suite of its own: test_fuzz.py.)"""

from __future__ import annotations

import json
import pickle
from urllib.parse import quote, quote_plus

import pytest

from officernd_auth.values.redact import Secret, mask_secrets, scrub, secret_forms

SECRET = "s3cr&t/ä+x y"


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET, safe="").lower(),
        quote_plus(SECRET),
        json.dumps(SECRET),
        json.dumps(SECRET, ensure_ascii=False),
        json.dumps(SECRET).replace("\\u00e4", "\\u00E4"),
        "s3cr&amp;t/&auml;+x y",
        repr(SECRET),
        quote(quote(SECRET, safe=""), safe=""),  # encoded twice
        quote(quote(quote(SECRET, safe=""), safe=""), safe=""),  # three times
        quote_plus(quote_plus(quote_plus(SECRET, safe=""), safe=""), safe=""),
    ],
)
def test_no_echo_of_the_secret_survives_a_scrub(echo: str) -> None:
    snippet = scrub(f'<p>invalid client_secret "{echo}" for client</p>', (SECRET,))
    assert "***" in snippet
    for form in secret_forms(SECRET):
        assert form not in snippet
    assert "s3cr" not in snippet


def test_a_snippet_is_one_short_line_without_tags_or_tokens() -> None:
    body = "<html><body>\n  <h1>Bad   gateway</h1>\n" + "token " + "ab" * 20 + " x" * 200
    snippet = scrub(body)
    assert "\n" not in snippet
    assert "<" not in snippet
    assert "ab" * 20 not in snippet
    assert snippet.startswith("Bad gateway token ***")
    assert len(snippet) == 160
    assert snippet.endswith("...")


def test_masking_takes_the_longest_form_first() -> None:
    assert mask_secrets(f"a {quote(SECRET, safe='')} b {SECRET} c", (SECRET,)) == "a *** b *** c"
    assert mask_secrets("nothing to hide", ()) == "nothing to hide"
    assert secret_forms("") == set()


def test_a_held_secret_shows_nothing_and_unwraps_to_itself() -> None:
    held = Secret.wrap(SECRET)
    assert repr(held) == str(held) == "Secret('***')"
    assert SECRET not in f"{held} {held!r} {[held]}"
    assert Secret.unwrap(held) == SECRET
    assert Secret.wrap(None) is None
    assert Secret.unwrap("plain") == "plain"
    assert pickle.loads(pickle.dumps(held)).reveal() == SECRET
