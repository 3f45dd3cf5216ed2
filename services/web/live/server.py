"""The `live` process: Flask-SocketIO on gevent, with the presence loop and a graceful stop.

On SIGTERM (Kubernetes stopping the pod, a deploy, `townhall dev` exiting) the process drains:
1. it stops accepting: the listening socket is closed (connections are refused at once, so the
   proxy or the Service sends reconnecting clients to the other live processes);
2. it drops every connection at the transport level, spread over half the grace period so the
   other processes are not hit by every client at once. A transport close (not a Socket.IO
   "server disconnect") makes socket.io clients reconnect by themselves, and they send their
   `last_seq`, so the event log replays whatever they missed: nothing is lost;
3. it stops the server and exits 0, at the latest LIVE_DRAIN_SECONDS (default 20) after the
   signal. Keep that below the pod's terminationGracePeriodSeconds minus its preStop sleep
   (chart: 60 - 5).
"""
from __future__ import annotations

import logging
import os
import resource
import signal

import gevent

from flask import Flask

from services.web.extensions import socketio
from services.live import presence
from services.web.live import events
from services.web.live import fanout

log = logging.getLogger(__name__)

DEFAULT_DRAIN_SECONDS = 20.0
DISCONNECT_BATCHES = 10


def drain_seconds() -> float:
    try:
        value = float(os.environ.get("LIVE_DRAIN_SECONDS", "") or DEFAULT_DRAIN_SECONDS)
    except ValueError:
        value = DEFAULT_DRAIN_SECONDS
    return max(1.0, value)


def serve(app: Flask, host: str, port: int) -> None:
    """Run the live process's Socket.IO server for `app` (made by the entry point, `townhall live`)."""
    fanout.install(socketio.server)
    _raise_open_files_limit()

    def presence_loop():
        with app.app_context():
            presence.run_forever(gevent.sleep)

    def metering_loop():
        with app.app_context():
            presence.meter_forever(gevent.sleep)

    gevent.spawn(presence_loop)
    gevent.spawn(metering_loop)
    stopping: list = []

    def on_sigterm():
        if not stopping:  # a second signal changes nothing: the drain is already under way
            stopping.append(gevent.spawn(_drain, app, drain_seconds()))

    gevent.signal_handler(signal.SIGTERM, on_sigterm)
    log.info("live server listening on %s:%s", host, port)
    socketio.run(app, host=host, port=port, log_output=False, use_reloader=False)
    log.info("live server stopped")


def _drain(app, grace: float) -> None:
    """Refuse new connections, drop the existing ones in batches, then stop, all within `grace`."""
    deadline = gevent.get_hub().loop.now() + grace
    # Whatever happens below, leave before the grace period ends (exit code 0: a clean stop).
    gevent.spawn_later(max(0.5, grace - 0.5), os._exit, 0)
    events.draining = True  # a connection accepted just before the listener closes is refused
    server = socketio.wsgi_server
    server.stop_accepting()  # close the listener only: open WebSockets carry on for now
    server.socket.close()  # connection refused: the proxy or Service picks another process at once
    eio = socketio.server.eio
    sockets = list(eio.sockets.values())
    log.info("SIGTERM: draining %d connections within %.0f s", len(sockets), grace)
    batch = max(1, -(-len(sockets) // DISCONNECT_BATCHES))
    pause = min(grace / 2, 5.0) / DISCONNECT_BATCHES
    for start in range(0, len(sockets), batch):
        for sock in sockets[start:start + batch]:
            # abort: no CLOSE packet, so clients see a lost transport and reconnect with last_seq
            gevent.spawn(sock.close, wait=False, abort=True)
        if start + batch < len(sockets):
            gevent.sleep(pause)
    while eio.sockets and gevent.get_hub().loop.now() < deadline - 1:
        gevent.sleep(0.05)
    with app.app_context():
        presence.flush_metering()  # the usage rows of every connection, including the ones just dropped
        socketio.stop()


def _raise_open_files_limit() -> None:
    """Each WebSocket holds one descriptor (services/web/live/transport.py): use the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY:
        log.info("open files limit %s: at most about %s connections", hard, hard - 100)
