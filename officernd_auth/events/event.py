"""The shape of a lifecycle event and the list of them (:mod:`officernd_auth.events`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["EVENTS", "Event", "Value"]

#: Field values: numbers, text and flags only (what logging extras and OpenTelemetry
#: attributes carry as they are).
Value = str | int | float | bool

#: Every event, its log level and what it means (docs/operations.rst says more). None is a
#: WARNING: what needs a person's attention is already a warning or an error of its own (the
#: retry, the refusal, the store's TokenCacheWarning); an event is that fact as data.
EVENTS: Mapping[str, tuple[int, str]] = {
    "token.fetched": (logging.INFO, "a token request succeeded"),
    "token.fetch_failed": (logging.INFO, "a token request failed (retried or given up)"),
    "token.from_cache": (logging.DEBUG, "a token another thread or process stored was taken"),
    "token.renewal_started": (logging.INFO, "renewing while the old token is still served"),
    "token.renewal_finished": (logging.INFO, "the renewal stored the next token"),
    "token.renewal_failed": (logging.INFO, "the renewal failed; the old token goes on"),
    "token.healed_401": (logging.INFO, "an API 401: the token was forgotten and renewed"),
    "budget.refused": (logging.INFO, "no token request sent: the budget or a 429 wait"),
    "server.wait": (logging.INFO, "the token endpoint answered 429 with a wait"),
    "store.down": (logging.INFO, "the shared store failed; this process decides alone"),
    "store.up": (logging.INFO, "the shared store answers again"),
    "lock.waited": (logging.DEBUG, "a call waited for another's token request"),
}


class Event(NamedTuple):
    """One thing the token lifecycle did.

    Attributes:
        name: one of :data:`~officernd_auth.events.event.EVENTS` (``"token.fetched"``...).
        application: the token endpoint's host and the masked client id
            (``"identity.officernd.com/abcd…yz"``), or the store's name for ``store.*``.
        fields: what happened, in seconds and counts (``duration``, ``attempt``, ``wait``...).
    """

    name: str
    application: str
    fields: Mapping[str, Value]
