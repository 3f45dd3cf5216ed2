"""Recycled gunicorn workers (max_requests) leave no Prometheus files behind: a dead worker's
counters and histograms are folded into archive files, so the multiprocess folder stays the same
size however often workers recycle, and a scrape still counts every request."""
from __future__ import annotations

import re

import requests
from prometheus_client import Counter, CollectorRegistry, multiprocess

from services.ops.metrics_archive import retire_process
from tests.support.prom import scrape, total
from tests.support.servers import start_server

REQUESTS = 150
ROUTE = "/t/<tenant>/rooms/<room_id>"


def test_the_folder_does_not_grow_across_recycles_and_nothing_is_lost(app_ctx, make_world, env, tmp_path):
    world = make_world()
    folder = tmp_path / "prom"
    folder.mkdir()
    web = start_server("web", env, tmp_path, extra_env={"WEB_CONCURRENCY": "2", "GUNICORN_MAX_REQUESTS": "10", "LOG_LEVEL": "INFO",
                                                        "PROMETHEUS_MULTIPROC_DIR": str(folder)})
    try:
        page = f"{web.url}/t/{world.tenant.slug}/rooms/{world.room['id']}"
        sizes = []
        for n in range(REQUESTS):
            assert requests.get(page, timeout=10).status_code == 200
            if n % 50 == 49:
                sizes.append(len(list(folder.glob("*.db"))))
        counted = total(scrape(web.url), "townhall_http_request_duration_seconds_count", route=ROUTE, method="GET")
        booted = len(re.findall(r"Booting worker with pid", web.log()))
    finally:
        web.stop()
    assert booted >= 10, f"workers recycled {booted - 2} times; the test needs several recycles"
    assert counted == REQUESTS, "every request is still counted after its worker was recycled"
    assert max(sizes) <= 2 * 3 + 2, f".db files after each 50 requests: {sizes}"   # 2 workers x 3 types + 2 archives


def test_folding_sums_values_key_by_key(tmp_path, monkeypatch):
    """Two dead processes' counters folded into the archive read back as their sum."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    from prometheus_client import values

    for pid, amount in ((101, 3), (102, 4)):
        monkeypatch.setattr(values.os, "getpid", lambda pid=pid: pid)
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda pid=pid: pid))   # restored after
        registry = CollectorRegistry()
        Counter("townhall_test_things", "things", ["kind"], registry=registry).labels("a").inc(amount)
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["counter_101.db", "counter_102.db"]
    assert retire_process(101, str(tmp_path)) == 1 and retire_process(102, str(tmp_path)) == 1
    assert [p.name for p in tmp_path.glob("*.db")] == ["counter_archive.db"]
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path=str(tmp_path))
    assert collected.get_sample_value("townhall_test_things_total", {"kind": "a"}) == 7
