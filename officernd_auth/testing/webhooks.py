"""The emulator's outgoing webhooks: subscriptions, signed deliveries with bounded retries, a log.

Deliveries are signed as OfficeRND signs them (see :mod:`officernd_auth.webhooks`), with the
real clock (the receiver checks the timestamp against its own), and sent from a background
thread so that the API call that caused them answers at once. Where the service is not
documented the emulator guesses, and says so: event names are ``<object>.created``,
``.updated`` and ``.removed`` (``member.removed`` is seen in OfficeRND's demo); a failed delivery
(non-2xx, timeout, refused) is tried ``attempts`` times in all, a short backoff apart.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.webhooks import SIGNATURE_HEADER, sign

__all__ = ["EVENT_OBJECTS", "Subscription", "WebhookDelivery", "WebhookSender"]

#: Resource (v2 and v1 names) -> the object name in event types.
EVENT_OBJECTS = {"members": "member", "companies": "company", "teams": "company",
                 "bookings": "booking"}  # fmt: skip
#: CRUD action -> event verb.
EVENT_VERBS = {"create": "created", "update": "updated", "delete": "removed"}


@dataclass(frozen=True)
class Subscription:
    """Where events go: a URL, the secret that signs them, and which event types (all if
    ``None``)."""

    url: str
    secret: str = field(repr=False)
    events: frozenset[str] | None = None

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery, as the emulator made it (after its last attempt).

    Attributes:
        url: where it was sent.
        event_type: e.g. ``"member.created"``.
        body: the exact bytes sent (and signed).
        signature: the ``officernd-signature`` header of the last attempt.
        status: the receiver's last HTTP status, ``None`` if it never answered.
        attempts: how many times it was sent.
        error: why the last attempt failed, if it did.
    """

    url: str
    event_type: str
    body: bytes = field(repr=False)
    signature: str = field(repr=False)
    status: int | None
    attempts: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """True when the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def event(self) -> dict[str, Any]:
        """The event as sent."""
        value: dict[str, Any] = json.loads(self.body)
        return value


class WebhookSender:
    """Signs and delivers events; keeps a log of every delivery.

    Args:
        attempts: tries per delivery in all (non-2xx, timeouts and refused connections are
            retried).
        timeout: seconds a receiver has to answer one attempt.
        backoff: seconds before the second attempt, doubling after.
    """

    def __init__(
        self,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.05,
        loopback_only: bool = True,
    ) -> None:
        #: Deliver to loopback receivers only (a test server inside the user's process must not
        #: be made to POST to the network: link-local metadata services, public hosts).
        self.loopback_only = loopback_only
        self.attempts = attempts
        self.timeout = timeout
        self.backoff = backoff
        self.subscriptions: list[Subscription] = []
        self.deliveries: list[WebhookDelivery] = []
        self._lock = threading.Condition()
        self._pending = 0

    def subscribe(self, url: str, secret: str, events: Iterable[str] | None = None) -> Subscription:
        """Deliver events to ``url``.

        Raises:
            ValueError: ``url`` is not on a loopback host and ``loopback_only`` is set.
        """
        refused = self._refusal(url)
        if refused:
            raise ValueError(refused)
        subscription = Subscription(url, secret, None if events is None else frozenset(events))
        with self._lock:
            self.subscriptions.append(subscription)
        return subscription

    def emit(
        self,
        event_type: str,
        data: Mapping[str, Any],
        extra: Iterable[Subscription] = (),
    ) -> int:
        """Deliver ``event_type`` to every subscription that wants it, in the background."""
        with self._lock:
            targets = [s for s in [*self.subscriptions, *extra] if s.wants(event_type)]
            self._pending += len(targets)
        for target in targets:
            threading.Thread(
                target=self._deliver_counted,
                args=(target.url, event_type, dict(data), target.secret),
                name=f"webhook {event_type}",
                daemon=True,
            ).start()
        return len(targets)

    def send(
        self, url: str, event_type: str, data: Mapping[str, Any], secret: str
    ) -> WebhookDelivery:
        """Deliver one event now and return how it went."""
        return self._deliver(url, event_type, dict(data), secret)

    def wait(self, count: int, timeout: float = 10.0) -> list[WebhookDelivery]:
        """Wait until ``count`` deliveries are logged and none is in flight; return the log."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.deliveries) < count or self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.deliveries)} webhook deliveries after {timeout:g} s, "
                        f"expected {count}"
                    )
                self._lock.wait(left)
            return list(self.deliveries)

    def _deliver_counted(
        self, url: str, event_type: str, data: dict[str, Any], secret: str
    ) -> None:
        try:
            self._deliver(url, event_type, data, secret)
        finally:
            with self._lock:
                self._pending -= 1
                self._lock.notify_all()

    def _refusal(self, url: str) -> str:
        """Why ``url`` gets no delivery, or ``""``."""
        from urllib.parse import urlsplit

        from ..values.urls import is_loopback

        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not self.loopback_only or is_loopback(host):
            return ""
        return (
            f"the emulator delivers webhooks to loopback receivers only, not {host or url!r}: "
            "use WebhookReceiver (127.0.0.1), or FakeOfficeRND(allow_remote=True) on purpose"
        )

    def _deliver(
        self, url: str, event_type: str, data: dict[str, Any], secret: str
    ) -> WebhookDelivery:
        body = json.dumps({"eventType": event_type, "data": data}).encode()
        status: int | None = None
        error: str | None = self._refusal(url) or None
        signature = ""
        attempt = 0
        for attempt in range(1, 0 if error else self.attempts + 1):
            signature = sign(body, secret)
            request = urllib.request.Request(  # noqa: S310 - a test receiver's URL
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                    status, error = answer.status, None
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code}"
                exc.close()  # its response: Python 3.14 warns about one left to the collector
            except (OSError, ValueError) as exc:
                status, error = None, type(exc).__name__
            if status is not None and 200 <= status < 300:
                break
            time.sleep(self.backoff * 2 ** (attempt - 1))
        delivery = WebhookDelivery(url, event_type, body, signature, status, attempt, error)
        with self._lock:
            self.deliveries.append(delivery)
            self._lock.notify_all()
        return delivery
