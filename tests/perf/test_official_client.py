"""Interoperability with the official socket.io-client (npm 4.8.4, tests/perf/official_client).

Townhall's live process speaks Engine.IO / Socket.IO through its own WebSocket transport
(services/web/live/transport.py) and fan-out path (fanout.py); the benchmark's load generator
speaks the protocol by hand. These tests prove that the real client, as browsers run it, gets what
it expects, through the real path (a moderator approving questions, the event log, Redis):

* with its default transports every client opens on long-polling and upgrades to a WebSocket;
* every published event arrives once and in order (and on a client that stays on long-polling);
* pings are answered for a full cycle (the live process runs with LIVE_PING_INTERVAL=2,
  LIVE_PING_TIMEOUT=1) and nobody is disconnected by them;
* a client that stops answering pings is dropped by the server, reconnects by itself, is
  replayed what it missed from its `last_seq` and receives the room's events again;
* a question with Welsh, other scripts, emoji (ZWJ sequences, flags, astral characters) and
  strings that look like protocol or binary framing arrives byte-identical;
* binary attachments (a host's caption audio, every byte value) arrive intact over the WebSocket
  and over long-polling (base64 in the payload).

One session (about 20 s) feeds every test; `test_the_harness_scenario...` runs the harness's
`fanout-official` at N=20. Needs node and npm (`npm ci` runs once if node_modules is missing).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from array import array
from pathlib import Path

import pytest

from tests.perf.harness import make_clients
from tests.perf.loadgen import ClientSpec
from tests.perf.official import OFFICIAL_DIR, OfficialClientGenerator, client_version, ensure_installed
from tests.perf.targets import TargetContext

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOM = "bench-interop"
N = 20
POLLING_RESIDENT = 1000          # a resident whose client may only long-poll
STAFF_WS, STAFF_POLLING = 2000, 2001
FROZEN = 0                       # the resident that stops answering pings
BODY = ("Croeso i’r cyfarfod: ŵ ŷ â ê ô, naïve café, Ελληνικά, русский, العربية, עברית, 中文, 日本語, हिन्दी; "
        "emoji 👮‍♀️ 🏴󠁧󠁢󠁷󠁬󠁳󠁿 🚓 👍🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 (astral); binary-looking: b4AAECAwQ= \\x00\\xff \ufffd "
        '{"_placeholder":true,"num":0} 451-["room_event",{}] 42["x"] \u2028\u2029 "quoted" \\ back\\slash\tend.')
AUDIO = bytes(range(256)) * 2    # every byte value, an even length (16-bit samples)


async def _wait(predicate, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


def _by_idx(parts: list[dict]) -> dict[int, dict]:
    return {rec["idx"]: rec for part in parts for rec in part["residents"]}


def _decode(rec: dict) -> tuple[list[int], list[int]]:
    seqs, sources = array("d"), array("B")
    seqs.frombytes(base64.b64decode(rec["seqs_b64"]))
    sources.frombytes(base64.b64decode(rec["sources_b64"]))
    return [int(s) for s in seqs], list(sources)


async def _session(target) -> dict:
    from services.captions.stream import stream_key

    import redis

    target.prepare([ROOM])
    offset = target.seq_offset(ROOM)
    gen = OfficialClientGenerator(workers=1, record_payloads=True)
    polling = OfficialClientGenerator(workers=1, transports=["polling"], record_payloads=True)
    out: dict = {"offset": offset, "published": []}
    await gen.start()
    await polling.start()
    try:
        proto = target.protocol()
        out["join"] = await gen.connect(make_clients(target, [ROOM], N), proto, concurrency=N, timeout=20)
        url = target.urls()[0]
        poller = ClientSpec(url=url, room=ROOM, auth=target.client_auth(ROOM, N), seq_offset=offset)
        out["join_polling"] = await polling.connect([poller], proto, timeout=20, first_index=POLLING_RESIDENT)
        host = ClientSpec(url=url, room=ROOM, auth=target.staff_auth(ROOM, target.admin), seq_offset=offset)
        await gen.connect([host], proto, timeout=20, first_index=STAFF_WS)
        await polling.connect([host], proto, timeout=20, first_index=STAFF_POLLING)

        # binary attachments from the client: a host's microphone, over each transport
        audio = {"audio": {"$bytes": base64.b64encode(AUDIO).decode()}}
        out["audio_acks"] = [await gen.emit(STAFF_WS, "caption_audio", audio),
                             await polling.emit(STAFF_POLLING, "caption_audio", audio)]
        stored = redis.Redis.from_url(target.stack.redis_url).xrange(stream_key(target.room_id(ROOM)))
        out["audio_stored"] = [fields[b"pcm"] for _, fields in stored]

        pub = await target.publisher()
        try:
            async def publish(body=None):
                seq = len(out["published"]) + 1
                out["published"].append((seq, time.time()))
                await pub.publish(ROOM, seq, body)

            await publish(BODY)
            for _ in range(3):
                await asyncio.sleep(0.2)
                await publish()

            async def everyone_pinged():
                recs = await gen.records()
                return all(r["pings"] >= 1 for r in recs[0]["residents"])
            await _wait(everyone_pinged, 8, "a ping cycle on every client")
            out["before_freeze"] = await gen.records()

            await gen.freeze(FROZEN)

            async def dropped():
                return (await gen.stats())["dropped"] >= 1
            last = 0.0
            while not await dropped():        # events while it is frozen (delivered until it is dropped)
                if time.monotonic() - last > 0.3:
                    await publish()
                    last = time.monotonic()
                assert len(out["published"]) < 40, "the server never dropped the frozen client"
                await asyncio.sleep(0.05)
            await publish()                   # one while it is away (its first retry waits 0.5 to 1.5 s)

            async def back():
                recs = _by_idx(await gen.records())
                return recs[FROZEN]["connected"] and recs[FROZEN]["reconnects"] >= 1
            await _wait(back, 15, "the dropped client to reconnect")
            for _ in range(3):
                await asyncio.sleep(0.2)
                await publish()
        finally:
            await pub.close()

        expected = len(out["published"])

        async def delivered():
            recs = _by_idx(await gen.records()) | _by_idx(await polling.records())
            return all(expected in _decode(r)[0] for r in recs.values())
        await _wait(delivered, 15, "the last event on every client")
        out["records"] = _by_idx(await gen.records()) | _by_idx(await polling.records())
        out["stats"] = await gen.stats()
    finally:
        for g in (gen, polling):
            try:
                await g.close_clients()
            finally:
                await g.shutdown()
    return out


@pytest.fixture(scope="module")
def session():
    ensure_installed()
    from tests.perf.targets.townhall import TownhallTarget

    target = TownhallTarget(TargetContext())
    target.extra_env = {"LIVE_PING_INTERVAL": "2", "LIVE_PING_TIMEOUT": "1"}
    target.start()
    try:
        return asyncio.run(_session(target))
    finally:
        target.stop()


def _residents(session) -> dict[int, dict]:
    return {i: r for i, r in session["records"].items() if i < N}


def test_the_pinned_official_client_is_installed():
    assert client_version() == "4.8.4"
    lock = json.loads((OFFICIAL_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/socket.io-client"]["version"] == "4.8.4"


def test_every_client_opens_on_long_polling_and_upgrades_to_a_websocket(session):
    assert session["join"]["joined"] == N and session["join"]["failed"] == 0
    assert session["join"]["upgraded"] == N   # all on a WebSocket before the first publish
    for i, rec in _residents(session).items():
        assert rec["opened"][0] == "polling", (i, rec["opened"])
        assert rec["transport"] == "websocket" and rec["upgrades"] == len(rec["opened"]), (i, rec)
    assert session["records"][FROZEN]["opened"] == ["polling", "polling"]   # its reconnect upgraded again
    polled = session["records"][POLLING_RESIDENT]
    assert polled["opened"] == ["polling"] and polled["upgrades"] == 0 and polled["transport"] == "polling"


def test_every_published_event_arrives_once_and_in_order(session):
    want = list(range(1, len(session["published"]) + 1))
    for i, rec in session["records"].items():
        if i == FROZEN:
            continue
        seqs, sources = _decode(rec)
        assert seqs == want, (i, seqs)
        assert set(sources) == {0}, i   # live deliveries, no replays: nothing was missed
    assert session["records"][POLLING_RESIDENT]["connects"] == 1


def test_pings_are_answered_and_keep_every_connection(session):
    before = _by_idx(session["before_freeze"])
    assert all(r["pings"] >= 1 for i, r in before.items() if i < N)
    for i, rec in session["records"].items():
        if i == FROZEN:
            continue
        assert rec["pings"] >= 2, (i, rec["pings"])   # a ping cycle takes 2 s here; the session lasts longer
        assert rec["disconnects"] == [] and rec["connects"] == 1 and rec["reconnects"] == 0, (i, rec)


def test_a_client_the_server_drops_reconnects_by_itself_and_gets_back_into_the_room(session):
    rec = session["records"][FROZEN]
    # the server closed the transport (its ping timeout), before the client's own timer gave up
    assert [reason for _, reason in rec["disconnects"]] == ["transport close"]
    assert rec["reconnects"] == 1 and rec["connects"] == 2 and rec["connected"]
    seqs, sources = _decode(rec)
    last = len(session["published"])
    replayed = [s for s, src in zip(seqs, sources) if src == 1]
    assert replayed, "what was published while it was away came in the replay from its last_seq"
    assert seqs[-1] == last and sources[-1] == 0   # live events again after the reconnect
    # as the page applies them (a repeat ignored, a gap waited for), the stream is complete and in order
    applied, seen = [], 0
    for s in seqs:
        if s == seen + 1:
            applied.append(s)
            seen = s
    assert applied == list(range(1, last + 1)) and sorted(set(seqs)) == applied
    assert rec["last_seq"] == session["offset"] + last   # what it would send on its next reconnect


def test_text_with_emoji_and_binary_looking_strings_arrives_byte_identical(session):
    first = session["offset"] + 1
    for i, rec in session["records"].items():
        payload = next(p for p in rec["payloads"] if p["seq"] == first)
        body = payload["data"]["body"]
        assert body.encode("utf-8") == BODY.encode("utf-8"), (i, body)
        assert payload["type"] == "question.published"


def test_binary_attachments_arrive_intact_over_both_transports(session):
    acks = session["audio_acks"]
    assert [a["transport"] for a in acks] == ["websocket", "polling"]
    assert all(a["reply"]["ok"] for a in acks), acks
    assert session["audio_stored"] == [AUDIO, AUDIO]


def test_the_harness_scenario_reports_fanout_figures_and_upgrades(tmp_path):
    ensure_installed()
    out = tmp_path / "official.json"
    proc = subprocess.run([sys.executable, "-m", "tests.perf.harness", "--targets", "townhall",
                           "--scenarios", "fanout-official", "--n", "20", "--duration", "2", "--drain", "3",
                           "--json", str(out)], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=100)
    assert proc.returncode == 0, f"harness failed\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "upgraded to websocket" in proc.stdout
    r = json.loads(out.read_text())["results"]["townhall"]["fanout-official"]["20"]
    assert r["join"]["joined"] == 20 and r["join"]["failed"] == 0
    assert r["published_events"] == 10 and r["deliveries"] == r["expected_deliveries"] == 200
    assert r["lost"] == 0 and r["reordered"] == 0 and r["duplicates"] == 0 and r["complete_clients"] == 20
    assert r["opened_on_polling"] == 20 and r["upgraded_to_websocket"] == 20
    assert r["client"] == "socket.io-client 4.8.4"
    assert 0 <= r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
