"""Smoke test of the benchmark harness against the Node.js reference server.

Runs ``python -m tests.perf.harness --smoke --targets reference`` (200
residents, 5 s fan-out at 5 events/s, 20 rooms x 10, a short scale-out) and
checks that every event reached every client, in order, with no failures.
Needs node and npm; ``npm ci`` runs once if tests/perf/reference/node_modules
is missing.  Needs Redis on 127.0.0.1:6379 (db 15) for the scale-out part, or
PERF_REDIS_URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.perf import cpu_caps

from tests.perf.targets.reference import REFERENCE_DIR, ensure_installed

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def reference_installed() -> Path:
    ensure_installed()  # npm ci when node_modules is missing
    assert (REFERENCE_DIR / "node_modules" / "socket.io").is_dir()
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def smoke_report(reference_installed, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("perf") / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.perf.harness", "--smoke", "--targets", "reference",
         "--source-ips", "127.0.0.1,127.0.0.2", "--json", str(out)],
        cwd=str(REPO_ROOT),
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"harness failed\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "reference" in proc.stdout  # the table was printed
    return json.loads(out.read_text())


def _assert_all_delivered_in_order(r: dict, clients: int) -> None:
    assert "error" not in r, r
    assert r["join"]["joined"] == clients and r["join"]["failed"] == 0, r["join"]
    assert r["published_events"] > 0
    assert r["complete_clients"] == clients
    assert r["lost"] == 0 and r["reordered"] == 0 and r["duplicates"] == 0
    assert r["dropped_clients"] == 0


def test_smoke_every_event_delivered_in_order(smoke_report):
    res = smoke_report["results"]["reference"]
    assert smoke_report["config"]["smoke"] is True

    join = res["join"]["200"]
    assert join["joined"] == 200 and join["failed"] == 0 and join["errors"] == {}
    assert join["seconds_to_all_joined"] > 0
    assert set(join["source_ips"]) == {"127.0.0.1", "127.0.0.2"}

    fan = res["fanout"]["200"]
    _assert_all_delivered_in_order(fan, 200)
    # 5 s at 5 events/s, each event to all 200 residents
    assert fan["published_events"] == 25
    assert fan["deliveries"] == fan["expected_deliveries"] == 25 * 200
    assert fan["unexpected"] == 0 and fan["misrouted"] == 0
    lat = fan["latency_ms"]
    assert lat["samples"] == 25 * 200
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert fan["server_cpu_s_per_1000_deliveries"] > 0
    assert fan["server_peak_rss_mb"] > 0

    idle = res["idle"]["200"]
    assert idle["held"] == 200 and idle["dropped"] == 0 and idle["join"]["failed"] == 0
    assert idle["kb_per_connection"] is not None

    rooms = res["rooms"]["200"]
    _assert_all_delivered_in_order(rooms, 200)
    assert rooms["misrouted"] == 0 and rooms["unexpected"] == 0
    assert rooms["deliveries"] == rooms["expected_deliveries"]

    so = res["scaleout"]["200"]
    assert "error" not in so, so
    for p in ("p1", "p2"):
        assert so[p]["join"]["failed"] == 0
        assert so[p]["lost"] == 0 and so[p]["reordered"] == 0 and so[p]["duplicates"] == 0
        assert so[p]["complete_clients"] == 200
        assert so[p]["delivered_per_s"] > 0
    assert so["ratio_2p_over_1p"] > 0
    if cpu_caps.available() is None:  # each server process ran under its own CPU quota
        assert so["cpu_limit_cores"] == so["p1"]["cpu_limit_cores"] == so["p2"]["cpu_limit_cores"] == 0.35
        assert 0 <= so["p1"]["throttled_share"] <= 1 and 0 <= so["p2"]["throttled_share"] <= 1
    else:
        assert so["cpu_limit_unavailable"] == cpu_caps.available() and so["p1"]["cpu_limit_cores"] is None

    goals = smoke_report["goals"]["reference"]
    assert set(goals) == {"idle10k", "fanout5k", "join5k", "scaleout"}
