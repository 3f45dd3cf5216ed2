"""A tiny HTTP receiver on loopback that records every POST (headers and raw body), for webhook
tests. `fail_first` answers that many requests with 503 before accepting, to exercise retries."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/escalations"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = 503 if len(receiver.received) < receiver.fail_first else 204
                    receiver.received.append(Received(self.path, dict(self.headers), raw, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status < 300]

    def wait_for_accepted(self, timeout: float = 30) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.accepted()
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no webhook accepted within {timeout}s (got {len(self.received)} attempts)")
