"""The load generator's Engine.IO / Socket.IO packet handling and its statistics."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from array import array

import pytest

from tests.perf.harness import evaluate_goals, publish_schedule
from tests.perf.loadgen import (
    Resident,
    Worker,
    connect_packet,
    event_packet,
    get_path,
    percentile,
    sio_url,
    split_packet,
)


def test_urls_for_the_websocket_transport():
    assert sio_url("http://127.0.0.1:3000") == "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"
    assert sio_url("https://h/", "live") == "wss://h/live/?EIO=4&transport=websocket"


def test_connect_and_event_packets_with_and_without_namespace():
    assert connect_packet("/", {"room": "r1"}) == '40{"room":"r1"}'
    assert connect_packet("/", None) == "40"
    assert connect_packet("/live", {"t": 1}) == '40/live,{"t":1}'
    assert event_packet("/", "publish", {"seq": 1}) == '42["publish",{"seq":1}]'
    assert event_packet("/live", "approve", {"id": "q"}, ack_id=7) == '42/live,7["approve",{"id":"q"}]'


def test_split_packet_strips_namespace_and_ack_id():
    assert split_packet('40{"sid":"abc"}', "/") == ("0", '{"sid":"abc"}')
    assert split_packet('42["room_event",{"seq":3}]', "/") == ("2", '["room_event",{"seq":3}]')
    assert split_packet('42/live,12["x",1]', "/live") == ("2", '["x",1]')
    assert split_packet('43/live,12[{"ok":true}]', "/live") == ("3", '[{"ok":true}]')
    assert split_packet('42/other,["x",1]', "/live") is None
    assert split_packet('42/live,["x",1]', "/") is None
    assert split_packet('44{"message":"no"}', "/") == ("4", '{"message":"no"}')


def test_get_path_follows_dotted_fields():
    payload = json.loads('{"seq": 4, "data": {"room": "r", "bench": {"n": 9}}}')
    assert get_path(payload, ("seq",)) == 4
    assert get_path(payload, ("data", "bench", "n")) == 9
    assert get_path(payload, ("data", "missing")) is None
    assert get_path(payload, ("seq", "x")) is None


def test_percentile_nearest_rank():
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) is None


def _resident(room: str, seqs: list[int], t0: float = 1000.0) -> Resident:
    r = Resident(idx=0, url="http://x", room=room, auth=None, headers=None, state="joined")
    r.seqs = array("q", seqs)
    r.times = array("d", [t0 + 0.010 * (k + 1) for k in range(len(seqs))])
    r.sent = array("d", [0.0] * len(seqs))
    return r


def test_collect_counts_lost_reordered_duplicated_and_unexpected():
    w = Worker()
    w.residents = [
        _resident("a", [1, 2, 3, 4]),     # complete
        _resident("a", [1, 3, 2, 4, 4]),  # one reordered, one duplicate
        _resident("a", [1, 2, 9]),        # 3 and 4 lost, 9 unexpected
    ]
    published = {"a": [[1, 1000.0], [2, 1000.0], [3, 1000.0], [4, 1000.0]]}
    res = w.cmd_collect({"published": published})
    assert res["clients"] == 3
    assert res["expected"] == 12
    assert res["lost"] == 2
    assert res["reordered"] == 1
    assert res["duplicates"] == 1
    assert res["unexpected"] == 1
    assert res["complete_clients"] == 1
    assert res["deliveries"] == 4 + 5 + 3


def test_publish_schedule_keeps_rate_and_per_room_order():
    calls: list[tuple[str, int]] = []

    class Pub:
        async def publish(self, room, seq):
            calls.append((room, seq))

    # its own thread: a sync Playwright session elsewhere in the run keeps a loop in this thread
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        published = pool.submit(asyncio.run, publish_schedule(Pub(), {"a": 20.0, "b": 10.0}, 0.5)).result()
    assert [s for s, _ in published["a"]] == list(range(1, 11))
    assert [s for s, _ in published["b"]] == list(range(1, 6))
    assert [s for r, s in calls if r == "a"] == list(range(1, 11))
    times = [t for _, t in published["a"]]
    assert times == sorted(times)
    assert times[-1] - times[0] == pytest.approx(0.45, abs=0.1)


def test_goals_are_met_not_met_or_not_measured():
    res = {
        "join": {"5000": {"seconds_to_all_joined": 3.0, "failed": 0}},
        "fanout": {"5000": {"latency_ms": {"p99": 300.0}, "lost": 0, "reordered": 0, "join": {"failed": 0},
                            "rate": 5.0, "other_cpu_cores": 1.0}},
    }
    goals = evaluate_goals(res)
    assert goals["join5k"]["status"] == "met"
    assert goals["fanout5k"]["status"] == "not met" and goals["fanout5k"]["contended"] is True
    assert goals["idle10k"]["status"] == "not measured"
    assert goals["scaleout"]["status"] == "not measured"
