"""A small TCP proxy standing in for the ingress: each new connection goes to the first backend
that accepts it, so when a live process dies its clients' reconnections land on another."""
from __future__ import annotations

import socket
import threading

from tests.support.servers import free_port


class TcpProxy:
    def __init__(self, backends: list[int], hold: threading.Event | None = None):
        """With `hold`, each connection reaches its backend at once but carries nothing until `hold`
        is set: a connection a server accepted just before it stopped listening."""
        self.backends = backends
        self.hold = hold
        self.connected = 0   # connections made to a backend
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._route, args=(client,), daemon=True).start()

    def _route(self, client: socket.socket) -> None:
        for port in self.backends:
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
                self.connected += 1
            if self.hold:
                self.hold.wait()
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            self._pipe(upstream, client)
            return
        client.close()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
            with self._lock:
                self._open.discard(s)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for s in list(self._open):
                s.close()
