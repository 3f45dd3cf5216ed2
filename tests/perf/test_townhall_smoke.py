"""Smoke run of the benchmark against Townhall's real live path (correctness, not speed).

200 residents with real participant rows and signed tokens; a moderator approving questions
over Socket.IO; events through the room event log and the Redis message queue; one and two
live processes. Every event must reach every resident, in order, once.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_townhall_smoke_every_event_delivered_in_order(tmp_path):
    out = tmp_path / "townhall-smoke.json"
    proc = subprocess.run([sys.executable, "-m", "tests.perf.harness", "--smoke", "--targets", "townhall",
                           "--json", str(out)], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"harness failed\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    res = json.loads(out.read_text())["results"]["townhall"]
    join = res["join"]["200"]
    assert join["joined"] == 200 and join["failed"] == 0, join
    for name in ("fanout", "rooms"):
        r = res[name]["200"]
        assert "error" not in r, r
        assert r["published_events"] > 0 and r["complete_clients"] == 200
        assert r["deliveries"] == r["expected_deliveries"]
        assert r["lost"] == 0 and r["reordered"] == 0 and r["duplicates"] == 0 and r["misrouted"] == 0
    so = res["scaleout"]["200"]
    for p in ("p1", "p2"):
        assert so[p]["lost"] == 0 and so[p]["reordered"] == 0 and so[p]["duplicates"] == 0
        assert so[p]["complete_clients"] == 200
    assert res["idle"]["200"]["held"] == 200
