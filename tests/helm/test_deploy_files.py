"""deploy/: the Dockerfile, the gunicorn configuration and the nginx sample.

There is no Docker engine on the development machine, so the Dockerfile is checked as text
for the properties the chart relies on (uid 10001, entrypoint, CMD, assets). The gunicorn file
is loaded the way gunicorn loads it; the nginx sample goes through `nginx -t` when nginx is
installed (Debian package `nginx-light`), and through text checks always.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.helm

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SITE_PACKAGES = "/opt/venv/lib/python3.11/site-packages"  # the image's virtualenv


# --- Dockerfile ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_dockerfile_stages_and_base_images(dockerfile):
    steps = instructions(dockerfile)
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    assert re.fullmatch(r"node:\d+-bookworm-slim", args["NODE_IMAGE"])
    froms = [a for i, a in steps if i == "FROM"]
    assert froms == [
        "${NODE_IMAGE} AS assets",
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE} AS runtime",
    ]


def test_dockerfile_front_end_assets(dockerfile):
    steps = instructions(dockerfile)
    assert ("COPY", "package.json package-lock.json ./") in steps
    run_npm = [a for i, a in steps if i == "RUN" and "npm ci" in a]
    assert run_npm and "--omit=dev" in run_npm[0], "axe-core is a dev dependency: not in the image"
    copies = [a.split() for i, a in steps if i == "COPY" and a.startswith("--from=assets")]
    assert copies == [["--from=assets", "/src/node_modules/socket.io-client/dist",
                       f"{SITE_PACKAGES}/node_modules/socket.io-client/dist"]]


def test_image_puts_files_where_the_installed_code_looks():
    """services/web/vendor.py and `townhall web` find their files relative to the installed packages;
    the Dockerfile copies them there. If either side moves, this fails."""
    import services
    import services.web.vendor as vendor

    installed_root = Path(services.__file__).resolve().parent.parent  # site-packages in the image
    assert vendor.ROOT == installed_root / "node_modules"
    assert vendor.FILES["socket.io.min.js"] == installed_root / "node_modules" / "socket.io-client" / "dist"
    commands = (ROOT / "services" / "commands.py").read_text()
    assert '"deploy" / "gunicorn.conf.py"' in commands
    assert (ROOT / "deploy" / "__init__.py").exists(), "deploy/ must stay a package so pip installs gunicorn.conf.py"


def test_dockerfile_installs_the_project_without_cache(dockerfile):
    steps = instructions(dockerfile)
    pip = [a for i, a in steps if i == "RUN" and "pip install" in a]
    assert any(re.search(r"pip install --no-cache-dir \.(\s|$)", a) for a in pip), pip
    env = " ".join(a for i, a in steps if i == "ENV")
    assert "PIP_NO_CACHE_DIR=1" in env
    for path in ("pyproject.toml", "services", "tenants", "workers", "deploy"):
        assert any(i == "COPY" and path in a for i, a in steps), path


def test_dockerfile_runtime_user_and_entrypoint(dockerfile):
    steps = instructions(dockerfile)
    runtime = steps[max(n for n, (i, a) in enumerate(steps) if i == "FROM"):]
    assert ("USER", "10001:10001") in runtime
    assert any(i == "RUN" and "--uid 10001" in a for i, a in runtime)
    # `townhall web` binds 127.0.0.1 by default: in a container it must listen on all interfaces
    assert runtime[-2:] == [("ENTRYPOINT", '["townhall"]'), ("CMD", '["web", "--host", "0.0.0.0"]')]
    env = " ".join(a for i, a in runtime if i == "ENV")
    assert "TOWNHALL_DATA_DIR=/tmp" in env, "beat's schedule file needs a writable directory"
    # nothing after USER switches back to root
    user_at = [n for n, (i, a) in enumerate(runtime) if i == "USER"]
    assert len(user_at) == 1


def test_dockerignore_keeps_the_context_small():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "node_modules", ".townhall-data", "tests", "helm", ".env"):
        assert entry in ignored, entry
    for needed in ("pyproject.toml", "README.md", "services", "tenants", "workers", "deploy", "package.json"):
        assert needed not in ignored, needed


# --- gunicorn.conf.py -------------------------------------------------------------------------


def load_gunicorn_config(env: dict[str, str]):
    """Load deploy/gunicorn.conf.py the way `gunicorn -c` does, with the given environment."""
    from gunicorn.app.base import Application

    class Probe(Application):
        def init(self, parser, opts, args):
            return {}

        def load(self):  # pragma: no cover - never started
            raise AssertionError

        def load_config(self):  # instead of parsing sys.argv
            self.load_config_from_file(str(DEPLOY / "gunicorn.conf.py"))

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Probe().cfg
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_gunicorn_config_defaults():
    cfg = load_gunicorn_config({})
    assert cfg.bind == ["0.0.0.0:5000"]
    assert cfg.worker_class_str == "gthread"
    assert cfg.workers == 2 and cfg.threads == 4
    web = yaml.safe_load((ROOT / "helm" / "townhall" / "values.yaml").read_text())["web"]
    assert cfg.graceful_timeout == web["gracefulTimeoutSeconds"] < \
        web["terminationGracePeriodSeconds"] - web["preStopSleepSeconds"], "done before the chart's pod is killed"
    assert cfg.keepalive > 60, "longer than the proxy's upstream keep-alive"
    assert cfg.accesslog is None, "the application logs its own access line (services/ops/metrics.py)"
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.logger_class.__name__ == "TownhallLogger"


def test_gunicorn_config_follows_the_environment():
    cfg = load_gunicorn_config(
        {"PORT": "6123", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "8", "FORWARDED_ALLOW_IPS": "*"}
    )
    assert cfg.bind == ["0.0.0.0:6123"]
    assert cfg.workers == 3 and cfg.threads == 8
    assert cfg.forwarded_allow_ips == ["*"]


def test_gunicorn_access_log_is_off_by_default_and_json_without_personal_data(capsys):
    import datetime
    import json
    import logging

    assert load_gunicorn_config({}).accesslog is None  # the app logs its own access line
    cfg = load_gunicorn_config({"ACCESS_LOG": "1"})
    logger = cfg.logger_class(cfg)
    stream_lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            stream_lines.append(self.format(record))

    capture = Capture()
    capture.setFormatter(logger.access_log.handlers[0].formatter)
    logger.access_log.handlers = [capture]

    class Resp:
        status = "200 OK"
        sent = 12
        headers = []

    def environ(path):
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "token=secret",
            "RAW_URI": f"{path}?token=secret",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.9",
            "HTTP_HOST": "met.townhall.example.police.uk",
            "HTTP_USER_AGENT": 'agent "with quotes"',
            "HTTP_X_REQUEST_ID": "req-1",
        }

    took = datetime.timedelta(milliseconds=42)
    logger.access(Resp(), None, environ("/healthz"), took)
    logger.access(Resp(), None, environ("/rooms/1"), took)
    assert len(stream_lines) == 1, stream_lines
    entry = json.loads(stream_lines[0])
    assert entry["path"] == "/rooms/1" and entry["status"] == 200 and entry["duration_ms"] == 42.0
    assert entry["request_id"] == "req-1"
    for personal in ("secret", "10.0.0.9", "agent"):
        assert personal not in stream_lines[0]


# --- nginx.conf.sample --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    return (DEPLOY / "nginx.conf.sample").read_text()


def location_block(conf: str, path: str) -> str:
    start = conf.index(f"location {path} {{")
    return conf[start : conf.index("\n        }", start)]


def test_nginx_routes_and_websocket_upgrade(nginx_conf):
    live = location_block(nginx_conf, "/socket.io/")
    assert "proxy_pass http://townhall_live;" in live
    assert "proxy_http_version 1.1;" in live
    assert "proxy_set_header Upgrade           $http_upgrade;" in live
    assert "proxy_set_header Connection        $connection_upgrade;" in live
    timeout = re.search(r"proxy_read_timeout (\d+)s;", live)
    assert timeout and int(timeout.group(1)) >= 3600
    web = location_block(nginx_conf, "/")
    assert "proxy_pass http://townhall_web;" in web
    # a location that sets any proxy header must set them all (nginx does not merge them)
    for block in (live, web):
        for header in ("Host", "X-Forwarded-For", "X-Forwarded-Proto"):
            assert f"proxy_set_header {header} " in block


def test_nginx_sticky_live_upstream_and_upload_size(nginx_conf):
    upstream = nginx_conf[nginx_conf.index("upstream townhall_live") :]
    upstream = upstream[: upstream.index("}")]
    assert "hash $remote_addr consistent;" in upstream or "ip_hash;" in upstream
    assert re.search(r"client_max_body_size \d+m;", nginx_conf)
    assert "add_header" not in nginx_conf, "security headers are the application's job"


def test_nginx_sample_passes_nginx_t(nginx_conf, tmp_path):
    """Real syntax check when nginx is installed (Debian: apt-get install nginx-light)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        return  # text checks above still ran
    openssl = shutil.which("openssl")
    assert openssl, "nginx -t needs a certificate; openssl makes a throwaway one"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-days", "1",
         "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
        check=True, capture_output=True,
    )
    conf = (
        nginx_conf.replace("/etc/ssl/townhall", str(tmp_path))
        .replace("/var/log/nginx", str(tmp_path))
        .replace("pid /run/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    )
    if os.geteuid() != 0:
        conf = conf.replace("user www-data;", "")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
