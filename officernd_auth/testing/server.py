"""HTTP plumbing of the emulator: a threaded loopback server that hands every request to a
function and sends back what it answers. Nothing here knows OfficeRND; see ``emulator.py``.
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from .records import Reply

__all__ = ["Exchange", "LoopbackServer"]


class Exchange(NamedTuple):
    """What to do with one request: the reply, after ``delay`` seconds (its body dripped a
    byte every ``drip`` seconds), or close instead."""

    reply: Reply
    delay: float = 0.0
    drop: bool = False
    drip: float = 0.0


#: ``(method, target, headers, body) -> Exchange``: the emulator's entry point.
Answer = Callable[[str, str, Mapping[str, str], bytes], Exchange]


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server whose every request is answered by ``answer``."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default of 5 resets connections of a burst of concurrent clients.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], answer: Answer, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(address, _Handler)
        self.answer = answer
        if ssl_context is not None:
            # The handshake happens in the handler's thread (setup), not in the accept loop.
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, closed socket) is normal here; anything else is not."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOfficeRND"
    timeout = 30
    server: LoopbackServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()
        # Headers and body go out in one write below; without NODELAY a small answer could
        # still wait for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        exchange = self.server.answer(self.command, self.path, dict(self.headers.items()), body)
        if exchange.delay:
            time.sleep(exchange.delay)
        if exchange.drop:
            self.close_connection = True
            return
        self._send(exchange.reply, exchange.drip)

    def _send(self, reply: Reply, drip: float = 0.0) -> None:
        lines = [f"{self.protocol_version} {reply.status} {_reason(reply.status)}"]
        lines.append(f"Server: {self.version_string()}")
        lines.append(f"Date: {self.date_time_string()}")
        if reply.raw or reply.status != 204:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
        lines.append(f"Content-Length: {len(reply.raw)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            self.wfile.write(head)
        elif drip:
            self.wfile.write(head)
            for index in range(len(reply.raw)):
                time.sleep(drip)
                self.wfile.write(reply.raw[index : index + 1])
        else:
            self.wfile.write(head + reply.raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _reason(status: int) -> str:
    phrase = BaseHTTPRequestHandler.responses.get(status)
    return phrase[0] if phrase else ""
