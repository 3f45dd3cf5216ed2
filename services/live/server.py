"""The `live` process: Flask-SocketIO on gevent, with the presence loop and a graceful stop."""
from __future__ import annotations

import logging
import resource
import signal

import gevent

from services.app import create_app
from services.config import load_config
from services.extensions import socketio
from services.live import fanout, presence
from services.startup import check_services

log = logging.getLogger(__name__)


def serve(host: str, port: int) -> None:
    config = load_config()
    check_services(config)
    app = create_app(config, process="live")
    fanout.install(socketio.server)
    _raise_open_files_limit()

    def presence_loop():
        with app.app_context():
            presence.run_forever(gevent.sleep)

    gevent.spawn(presence_loop)
    gevent.signal_handler(signal.SIGTERM, lambda: _stop(app))
    log.info("live server listening on %s:%s", host, port)
    socketio.run(app, host=host, port=port, log_output=False, use_reloader=False)


def _raise_open_files_limit() -> None:
    """Each WebSocket holds two descriptors (simple-websocket dups the socket): use the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY:
        log.info("open files limit %s: at most about %s connections", hard, hard // 2)


def _stop(app) -> None:
    """Tell every client to reconnect (they resume from the event log elsewhere), then exit."""
    log.info("SIGTERM: disconnecting clients and stopping")
    with app.app_context():
        socketio.stop()
