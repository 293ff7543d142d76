"""What every token cache shares: the ``TokenCache`` contract, the key scheme, the record format.

A cache maps an opaque key (see :func:`cache_key`: token URL, client id, a hash of the secret and
the scope set) to a :class:`~officernd_auth.token.Token`. It never sees the client secret.
A cache is a store: it knows nothing of leeway or clocks (whether a token is fresh is the
provider's call). Backends import this module and nothing else of the package's caches. The
key scheme and the record format live in :mod:`officernd_auth.values.records`, which the CLI's
cached-token path reads a token with alone.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol, TypeGuard, runtime_checkable

from ..values.deadline import MAX_IN_FLIGHT, MAX_SERVER_WAIT, takes_timeout
from ..values.records import FILE_FORMAT, cache_key, record_fields, sha256_hex
from ..values.token import Token
from ..values.urls import normalise_url

__all__ = [
    "BUDGET_FORMAT",
    "FILE_FORMAT",
    "BaseTokenCache",
    "RecordBudgets",
    "TokenCache",
    "application_key",
    "block_in_record",
    "cache_key",
    "lock_takes_timeout",
    "normalise_url",
    "record_of",
    "settle_in_record",
    "spend_in_record",
    "token_from_record",
]

#: Marks our shared budget records (file cache).
BUDGET_FORMAT = "officernd-auth/token-budget/1"


@runtime_checkable
class TokenCache(Protocol):
    """Everything the provider asks of a token store. Implementations must be thread-safe.

    Subclass :class:`BaseTokenCache` to get the trivial ``lock`` and ``discard``.
    """

    def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``."""

    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any earlier one."""

    def delete(self, key: str) -> None:
        """Forget the token under ``key``; no error if there is none."""

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token`` under ``key``, but spare a newer token stored meanwhile."""

    def lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """A lock held around check-fetch-store, as far as the cache reaches (e.g. processes).

        A ``lock`` that also takes ``timeout`` (seconds, or ``None``) is given the time the
        call has left, and should stop waiting by then (ours do).
        """


class BaseTokenCache:
    """The trivial parts of :class:`TokenCache` for a store without cross-process sharing:
    ``discard`` is ``delete`` (nothing else can store a newer token) and ``lock`` holds nothing
    (the provider's own lock already serialises the threads of this process).
    """

    def get(self, key: str) -> Token | None:
        raise NotImplementedError

    def set(self, key: str, token: Token) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def discard(self, key: str, token: Token) -> None:
        """Forget ``token``; here simply :meth:`~officernd_auth.cache.TokenCache.delete`."""
        if self.get(key) == token:
            self.delete(key)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float | None = None) -> Iterator[None]:
        """No lock beyond the provider's own (so nothing to wait for)."""
        yield


def lock_takes_timeout(cache: TokenCache) -> bool:
    """True when a cache's ``lock`` accepts ``timeout=`` (see :func:`takes_timeout`)."""
    return takes_timeout(cache.lock)


def application_key(token_url: str, client_id: str) -> str:
    """The key of an application's shared token budget: its token URL and client id, hashed.

    Every credential of one application shares it (OfficeRND counts per application, failures
    with a wrong secret included), so it holds no secret.
    """
    return sha256_hex(f"budget\0{token_url}\0{client_id}".encode())


def budget_record(loaded: object) -> dict[str, Any]:
    """The budget record (``{"sent": [...], "blocked_until": t}``) in what a shared store held;
    a fresh record for anything else. A store others can write must not make a fetch raise, so
    a list, a string, a non-number or a non-finite number is not a record."""
    record: dict[str, Any] = {"sent": [], "blocked_until": 0.0}
    if not isinstance(loaded, dict):
        return record
    sent, blocked = loaded.get("sent"), loaded.get("blocked_until")
    if isinstance(sent, list) and all(_finite(t) for t in sent):
        record["sent"] = [float(t) for t in sent[-1000:]]
    if _finite(blocked):
        record["blocked_until"] = float(blocked)
    return record


class BudgetUse(NamedTuple):
    """An application's shared budget at one moment, as ``officernd-auth status`` shows it."""

    #: Token requests counted in the current window (by every process sharing the store).
    used: int
    #: Seconds until the oldest of them leaves the window (0 when none is counted).
    frees_in: float
    #: Seconds a 429's wait still holds every token request back (0 when none is in force).
    server_wait: float


def budget_use(record: dict[str, Any], now: float, window: float) -> BudgetUse:
    """What a budget record (see :func:`budget_record`) says at ``now``."""
    counted = sorted(t for t in record["sent"] if t > now - window)
    frees_in = max(0.0, counted[0] + window - now) if counted else 0.0
    return BudgetUse(len(counted), frees_in, max(0.0, record["blocked_until"] - now))


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def spend_in_record(
    record: dict[str, Any], now: float, limit: int | None, window: float, at: float | None = None
) -> tuple[float, str] | None:
    """A shared budget record (``{"sent": [...], "blocked_until": t}``) spends one token
    request at ``now``, counted from ``at`` (default ``now``: see
    :func:`settle_in_record`), or says how long until one may go and whether a 429
    (``"server"``) or the budget decided it (the rule of the file and Django caches'
    ``spend_budget``)."""
    # Send times further ahead than a request can be in flight were not written by us.
    latest = now + window + MAX_IN_FLIGHT
    sent = [t for t in record["sent"] if now - window < t <= latest]
    record["sent"] = sent
    # No 429 asks for more than MAX_SERVER_WAIT: a later end was planted, or recorded while a
    # clock was far ahead, and must not lock every process out for as long.
    record["blocked_until"] = min(record["blocked_until"], now + MAX_SERVER_WAIT)
    if now < record["blocked_until"]:
        return (record["blocked_until"] - now, "server")
    if limit is not None and len(sent) >= limit:
        return (min(sent) + window - now, "budget")
    sent.append(now if at is None else min(at, latest))
    return None


def settle_in_record(record: dict[str, Any], spent: float, answered: float) -> None:
    """A request counted from ``spent`` (its latest possible arrival while it was in flight)
    is counted from ``answered`` instead: the server counted it when it arrived, which was no
    later than its answer, so the budget holds it for a window after that, however long the
    sender was stalled before sending. Re-added if it had already left the record."""
    sent = record["sent"]
    if spent in sent:
        sent.remove(spent)
    sent.append(answered)


def block_in_record(record: dict[str, Any], until: float, now: float) -> None:
    """A shared budget record lets no token request out before ``until`` (it is ``now``)."""
    record["sent"] = [t for t in record["sent"] if t <= now + MAX_IN_FLIGHT]  # in flight too
    blocked = min(record["blocked_until"], now + MAX_SERVER_WAIT)
    record["blocked_until"] = max(blocked, min(until, now + MAX_SERVER_WAIT))


class RecordBudgets:
    """The shared budget (:class:`~officernd_auth.policy.BudgetStore`) of a store that keeps it
    as one record per application (``{"sent": [...], "blocked_until": t}``), read, changed and
    written under a lock of the store's: the file and Django caches. A subclass gives
    ``_budget_record``; the rules are ``spend_in_record``, ``settle_in_record`` and
    ``block_in_record`` (this module)."""

    def budget_applications(self) -> list[str]:
        """The application keys this store keeps a budget for, where it can list them (a
        Django cache cannot: none)."""
        return []

    def budget_use(self, application: str, now: float, window: float) -> BudgetUse:
        """``application``'s budget at ``now``, read without its lock (a moment's view, for
        ``officernd-auth status``).

        Raises:
            OSError: the store cannot be read.
        """
        return budget_use(self._peek_budget(application), now, window)

    def _peek_budget(self, application: str) -> dict[str, Any]:
        """The application's record as stored, read without the lock (a fresh one if none)."""
        raise NotImplementedError

    def _budget_record(
        self, application: str, keep: float, timeout: float | None
    ) -> AbstractContextManager[dict[str, Any]]:
        """The application's record, locked for the block (the lock waited for at most
        ``timeout`` seconds where given) and written back after it, kept in the store at least
        ``keep`` seconds past its latest time.

        Raises:
            OSError: the store cannot be used (the caller falls back to its own budget).
        """
        raise NotImplementedError

    def spend_budget(
        self,
        application: str,
        now: float,
        limit: int | None,
        window: float,
        *,
        timeout: float | None = None,
        at: float | None = None,
    ) -> tuple[float, str] | None:
        """Record one token request of ``application`` at ``now`` (counted from ``at``: see
        :meth:`settle_budget`) for every process sharing this store; or say how long until one
        may go, and whether a 429 or the budget decided it. Waits for the budget's lock at most
        ``timeout`` seconds (the call's deadline).

        Raises:
            OSError: the store cannot be used, or its lock stayed held (the caller falls back
                to its own budget).
        """
        with self._budget_record(application, window, timeout) as record:
            return spend_in_record(record, now, limit, window, at)

    def settle_budget(
        self,
        application: str,
        spent: float,
        answered: float,
        window: float,
        *,
        timeout: float | None = None,
    ) -> None:
        """Count the request recorded at ``spent`` from ``answered``, when its answer came.

        Raises:
            OSError: the store cannot be used.
        """
        with self._budget_record(application, window, timeout) as record:
            settle_in_record(record, spent, answered)

    def block_budget(
        self, application: str, until: float, now: float, *, timeout: float | None = None
    ) -> None:
        """Let no process sharing this store send a token request before ``until`` (it is
        ``now``).

        Raises:
            OSError: the store cannot be used.
        """
        with self._budget_record(application, until - now, timeout) as record:
            block_in_record(record, until, now)


def record_of(token: Token) -> str:
    """The stored form of a token (file and Redis caches): JSON with the format marker."""
    return json.dumps(
        {
            "format": FILE_FORMAT,
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "obtained_at": token.obtained_at,
            "scopes": sorted(token.scopes),
        }
    )


def token_from_record(raw: str | bytes) -> Token | None:
    """The token in a stored record, or ``None`` for anything that is not one of ours (see
    :func:`~officernd_auth.values.records.record_fields` for the checks)."""
    fields = record_fields(raw)
    if fields is None:
        return None
    access_token, expires_at, obtained_at, scopes = fields
    return Token(
        access_token=access_token,
        expires_at=expires_at,
        obtained_at=obtained_at,
        scopes=frozenset(scopes),
        token_type="Bearer",
    )
