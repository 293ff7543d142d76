"""A webhook receiver on loopback for tests: records every POST and answers what it is told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from .records import Reply
from .server import Exchange, LoopbackServer

__all__ = ["ReceivedWebhook", "WebhookReceiver"]


@dataclass(frozen=True)
class ReceivedWebhook:
    """One request the receiver got: its path, headers (lower-case names) and raw body."""

    path: str
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    @property
    def signature(self) -> str | None:
        """The ``officernd-signature`` header."""
        return self.headers.get("officernd-signature")


class WebhookReceiver:
    """``http://127.0.0.1:PORT/webhook``: point a webhook at :attr:`url`, then :meth:`wait`.

    Args:
        answer: ``(request) -> status`` deciding each answer (e.g. verify the signature and
            answer 400 on failure); 200 for everything by default.
    """

    def __init__(self, answer: Callable[[ReceivedWebhook], int] | None = None) -> None:
        self.answer = answer or (lambda request: 200)
        self.received: list[ReceivedWebhook] = []
        self._changed = threading.Condition()
        self._server = LoopbackServer(("127.0.0.1", 0), self._handle)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to deliver."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Exchange:
        request = ReceivedWebhook(target, {k.lower(): v for k, v in headers.items()}, body)
        status = self.answer(request)
        with self._changed:
            self.received.append(request)
            self._changed.notify_all()
        return Exchange(Reply(status, {"received": True}))

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedWebhook]:
        """Wait until ``count`` requests have arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.received)} webhook(s) received, expected {count}"
                    )
                self._changed.wait(left)
            return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
