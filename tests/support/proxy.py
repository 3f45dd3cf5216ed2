"""A local nginx (Debian's) in front of test processes, with deploy/nginx.conf.sample's routing:
`/socket.io/` to the live upstream (WebSocket upgrade), everything else to web. Run in the
foreground from a temp folder on a free loopback port; stopped with the test."""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.servers import free_port

CONF = """daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream townhall_web {{
        server 127.0.0.1:{web};
        keepalive 8;
    }}
    upstream townhall_live {{
        # The sample uses `hash $remote_addr consistent` (long-polling stickiness); every test
        # client comes from 127.0.0.1, so spread WebSocket-only clients with least_conn instead.
        least_conn;
{live_servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /metrics {{ return 404; }}
        location /socket.io/ {{
            proxy_pass http://townhall_live;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
        location / {{
            proxy_pass http://townhall_web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


@dataclass
class Proxy:
    port: int
    proc: subprocess.Popen
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_nginx(folder: Path, web_port: int, live_ports: list[int]) -> Proxy:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    for sub in ("body", "proxy"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in live_ports)
    conf = folder / "nginx.conf"
    conf.write_text(CONF.format(dir=folder, web=web_port, port=port, live_servers=servers))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proxy = Proxy(port, proc, folder)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(folder / 'error.log').read_text(errors='replace')}")
        try:
            requests.get(f"{proxy.url}/healthz", timeout=0.5)
            return proxy
        except requests.RequestException:
            time.sleep(0.1)
    proxy.stop()
    raise RuntimeError("nginx did not start")
