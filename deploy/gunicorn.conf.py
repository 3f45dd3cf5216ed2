"""gunicorn settings for `townhall web` in production.

A plain gunicorn configuration file: it imports nothing from the application, only the
standard library and gunicorn itself. Every setting can be changed by environment
variable, so the same image serves a laptop, a VM behind deploy/nginx.conf.sample, and the
Helm chart (which sets PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_GRACEFUL_TIMEOUT and
FORWARDED_ALLOW_IPS).

| variable                  | default            | setting            |
| ------------------------- | ------------------ | ------------------ |
| HOST / PORT               | 0.0.0.0 / 5000     | bind               |
| WEB_CONCURRENCY           | 2                  | workers            |
| GUNICORN_THREADS          | 4                  | threads (gthread)  |
| GUNICORN_TIMEOUT          | 30                 | timeout            |
| GUNICORN_GRACEFUL_TIMEOUT | 20                 | graceful_timeout   |
| GUNICORN_KEEPALIVE        | 75                 | keepalive          |
| GUNICORN_MAX_REQUESTS     | 5000 (0 disables)  | max_requests       |
| FORWARDED_ALLOW_IPS       | 127.0.0.1,::1      | forwarded_allow_ips|
| LOG_LEVEL                 | INFO               | loglevel           |
| LOG_FORMAT                | json               | json or text lines |
| ACCESS_LOG                | 0                  | 1 adds gunicorn's own access line (the app logs one per request) |
| PROMETHEUS_MULTIPROC_DIR  | unset              | metrics summed across workers (emptied at start; a recycled worker folded into archives) |
| ACCESS_LOG_PROBES         | 0                  | 1 logs /healthz and /readyz too |
"""
import json
import logging
import os
from datetime import datetime, timezone


def _int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _flag(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


# --- server socket ---------------------------------------------------------
bind = [f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 5000)}"]
# Queue of connections waiting for a worker.
backlog = 2048

# --- workers ---------------------------------------------------------------
# gthread: a few processes, each with a pool of threads. Socket.IO is served by `townhall live`,
# so web requests are short and mostly wait on PostgreSQL.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
# A request running longer than this is killed and its worker restarted.
timeout = _int("GUNICORN_TIMEOUT", 30)
# After SIGTERM, workers get this long to finish in-flight requests. Keep it below the pod's
# terminationGracePeriodSeconds minus the preStop sleep (chart defaults: 20 < 30 - 5; the chart
# sets it from web.gracefulTimeoutSeconds and refuses a value that is not below).
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Longer than the proxy's upstream keep-alive (nginx and ingress-nginx use 60 s), so the proxy,
# not gunicorn, closes idle connections and never reuses one gunicorn has just closed.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then; the jitter stops them all restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
# Each worker opens its own PostgreSQL pool after fork.
preload_app = False
# Worker heartbeat files in memory: the image's root filesystem is read-only, and a disk-backed
# /tmp can stall heartbeats.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# gunicorn 24+ opens a control socket under $HOME by default; containers run with a read-only
# root filesystem and nobody uses it there. (Older versions ignore this name.)
control_socket_disable = True

# --- proxies ---------------------------------------------------------------
# Addresses allowed to set X-Forwarded-Proto / X-Forwarded-For. Behind an ingress controller
# whose address changes, use "*" and let a NetworkPolicy keep everyone else out.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# Request size limits (bytes); media uploads are bounded by the proxy's body size.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- logging ---------------------------------------------------------------
# The application logs one JSON access line per request (services/ops/metrics.py: route template,
# status, duration, request and tenant ids); gunicorn's own line is off unless ACCESS_LOG=1.
accesslog = "-" if _flag("ACCESS_LOG", False) else None  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
proc_name = "townhall-web"

_JSON = os.environ.get("LOG_FORMAT", "json").lower() == "json"
_LOG_PROBES = _flag("ACCESS_LOG_PROBES", False)
_PROBE_PATHS = frozenset(("/healthz", "/readyz"))


class _JsonFormatter(logging.Formatter):
    """One JSON object per line, the same keys as the application's own log lines."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if http:
            entry.update(http)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


try:
    from gunicorn import glogging
except ImportError:  # only when this file is read without gunicorn installed
    glogging = None

if glogging is not None:

    class TownhallLogger(glogging.Logger):
        """gunicorn's logger with JSON lines and without health-probe noise.

        Query strings, client addresses and user agents are left out: they are personal data or tokens.
        """

        def setup(self, cfg):
            super().setup(cfg)
            if _JSON:
                formatter = _JsonFormatter()
                for log in (self.error_log, self.access_log):
                    for handler in log.handlers:
                        handler.setFormatter(formatter)

        def access(self, resp, req, environ, request_time):
            if not self.cfg.accesslog:
                return
            path = environ.get("PATH_INFO", "")
            if not _LOG_PROBES and path in _PROBE_PATHS:
                return
            if not _JSON:
                return super().access(resp, req, environ, request_time)
            status = resp.status
            if isinstance(status, str):
                status = status.split(None, 1)[0]
            try:
                status = int(status)
            except (TypeError, ValueError):
                pass
            http = {
                "method": environ.get("REQUEST_METHOD"),
                "path": path,
                "host": environ.get("HTTP_HOST"),
                "status": status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "request_id": environ.get("HTTP_X_REQUEST_ID"),
                "protocol": environ.get("SERVER_PROTOCOL"),
            }
            http = {key: value for key, value in http.items() if value is not None}
            try:
                self.access_log.info(
                    "%s %s %s", http.get("method"), path, status, extra={"http": http}
                )
            except Exception:
                self.exception("access log failed")

    logger_class = TownhallLogger


# --- metrics ---------------------------------------------------------------
# With PROMETHEUS_MULTIPROC_DIR set, each worker writes its values to files there and /metrics
# sums them: start from an empty folder, and fold a recycled worker's files into the archives
# (services/ops/metrics_archive.py), so the folder does not grow with every recycle.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    from services.ops.metrics_archive import clear_folder

    clear_folder(_MULTIPROC_DIR)


def child_exit(server, worker):
    if _MULTIPROC_DIR:
        from services.ops.metrics_archive import retire_process

        retire_process(worker.pid, _MULTIPROC_DIR)
