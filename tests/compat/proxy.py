"""A real forwarding and CONNECT proxy on loopback, recording what passes through it."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from types import TracebackType
from urllib.parse import urlsplit


class Proxy:
    """``http://127.0.0.1:PORT``: absolute-URI requests are forwarded, CONNECT is tunnelled."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (method, target) as the client sent them
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(65537).decode("latin-1").strip()
                if not line:
                    return
                method, target, _ = line.split(" ", 2)
                headers = []
                while True:
                    header = self.rfile.readline(65537)
                    if header in (b"\r\n", b"\n", b""):
                        break
                    headers.append(header)
                proxy.seen.append((method, target))
                if method == "CONNECT":
                    host, _, port = target.rpartition(":")
                    upstream = socket.create_connection((host, int(port)), timeout=10)
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _pipe(self.connection, upstream)
                    return
                parts = urlsplit(target)
                upstream = socket.create_connection(
                    (parts.hostname or "", parts.port or 80), timeout=10
                )
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                kept = [h for h in headers if not h.lower().startswith((b"connection", b"proxy-"))]
                length = next(
                    (
                        int(h.split(b":", 1)[1])
                        for h in headers
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = self.rfile.read(length) if length else b""
                upstream.sendall(
                    f"{method} {path} HTTP/1.1\r\n".encode()
                    + b"".join(kept)
                    + b"Connection: close\r\n\r\n"
                    + body
                )
                answer = b""
                while chunk := upstream.recv(65536):
                    answer += chunk
                upstream.close()
                # One request per client connection: say so, or the client would reuse it.
                status, _, rest = answer.partition(b"\r\n")
                self.wfile.write(status + b"\r\nConnection: close\r\n" + rest)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Proxy:
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


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    sockets = [client, upstream]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
    finally:
        upstream.close()
