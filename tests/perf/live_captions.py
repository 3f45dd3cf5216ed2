"""Live captions benchmark (issue 20): speech-end-to-caption latency at residents, word error rate,
caption-worker CPU per audio minute and rooms per worker core, with many residents connected.

    python -m tests.perf.live_captions                 # 1,000 residents, the spoken session 3 times
    python -m tests.perf.live_captions --residents 200 --rounds 1
    python -m tests.perf.live_captions --rooms 4 --rounds 2 --worker-core 0   # 4 rooms on one worker core

A real live process and a real caption worker on the test stack (embedded PostgreSQL and Redis
when none run locally); a host socket sends the three clips of docs/captions.md at real time in
250 ms chunks (as the browser does); `--residents` idle resident sockets (aiohttp, Engine.IO by
hand) stay connected and receive every caption; five measuring residents (python-socketio) time
each final line. A phrase's speech ends at the last sample of its clip: that moment is the send
time of the chunk holding it, less the audio after it in that chunk. Everything shares the
machine's cores (the generator too), so the figures are an upper bound for a dedicated server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

from services.app import create_app
from services.ops.config import load_config
from tenants.migrate import migrate
from tests.support.live_client import LiveClient
from tests.support.servers import start_server
from tests.support.speech import pcm_of, spoken_session
from tests.support.stack import start_test_stack
from tests.support.workers import start_captions_worker
from tests.support.worlds import another_room, build_world, make_tenant, move_to_plan
from workers.captions import measure

CHUNK = 8000
RATE = 16000


async def idle_residents(url: str, tokens: list[str], ready: threading.Event, stop: threading.Event, counts: dict):
    """Resident sockets that answer pings and count the caption events they receive."""
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async def one(session, token):
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            await ws.receive()                                   # 0{open}
            await ws.send_str("40" + json.dumps({"token": token}))
            async for msg in ws:
                data = msg.data
                if data == "2":
                    await ws.send_str("3")
                elif data.startswith("40"):
                    counts["connected"] += 1
                elif "caption.final" in data:
                    counts["finals"] += 1
                if stop.is_set():
                    return

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        for i, token in enumerate(tokens):
            tasks.append(asyncio.create_task(one(session, token)))
            if i % 50 == 49:
                await asyncio.sleep(0.2)
        while counts["connected"] < len(tokens) * 0.99 and not stop.is_set():
            await asyncio.sleep(0.2)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()


def speak_in_real_time(host, pcm: bytes, spans, rounds: int) -> list[float]:
    """Send `rounds` times the session as a microphone would; returns when each phrase's speech ended."""
    speech_ends: list[float] = []
    next_at = time.monotonic()
    for _ in range(rounds):
        chunk_sent: dict[int, float] = {}
        for i in range(0, len(pcm), CHUNK):
            next_at += CHUNK / 2 / RATE
            time.sleep(max(0.0, next_at - time.monotonic()))      # a real microphone: a chunk when it is full
            reply = host.call("caption_audio", {"audio": pcm[i:i + CHUNK]})
            assert reply["ok"], reply
            chunk_sent[i] = time.time()
        for _, end in spans:
            end_byte = int(end * RATE) * 2
            chunk = (end_byte // CHUNK) * CHUNK
            after = (min(chunk + CHUNK, len(pcm)) - end_byte) / 2 / RATE
            speech_ends.append(chunk_sent[chunk] - after)
    host.call("caption_audio", {"end": True})
    return speech_ends


def latencies_of(client, pcm: bytes, spans, rounds: int, speech_ends: list[float]) -> list[float]:
    samples_per_round = len(pcm) // 2
    phrases = [(r * samples_per_round + int(a * RATE), r * samples_per_round + int(b * RATE))
               for r in range(rounds) for a, b in spans]
    finals = [e["data"] for e in client.events_of("caption.final")]
    out = []
    for (first, last), ended in zip(phrases, speech_ends):
        # the phrase's caption is complete with the last final line that starts inside it
        inside = [t for f, t in zip(finals, client.final_arrivals) if first - RATE // 2 <= f["id"] < last]
        if inside:
            out.append(inside[-1] - ended)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=1000, help="idle residents, spread over the rooms")
    parser.add_argument("--rounds", type=int, default=3, help="times the spoken session is said in each room")
    parser.add_argument("--rooms", type=int, default=1, help="rooms captioned at once by the one worker")
    parser.add_argument("--worker-core", type=int, default=None, help="pin the caption worker to this CPU")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="captions-bench-"))
    stack = start_test_stack(str(tmp / "embedded"))
    migrate(stack.owner_url)
    env = {**os.environ, "TOWNHALL_ENV": "test", "DATABASE_URL": stack.owner_url, "REDIS_URL": stack.redis_url,
           "SECRET_KEY": "bench-secret-key-for-townhall-0123456789abcdef", "LOG_LEVEL": "WARNING",
           "SOCKETIO_CHANNEL": f"townhall-bench-{uuid.uuid4().hex[:8]}", "MEDIA_DIR": str(tmp / "media"),
           "LIVE_CONNECTIONS_PER_IP": "0"}
    app = create_app(load_config(env), process="web")
    live = start_server("live", env, tmp)
    worker = start_captions_worker(env, tmp, name="captions-bench", cpu=args.worker_core)
    worker_proc, live_proc = psutil.Process(worker.proc.pid), psutil.Process(live.proc.pid)
    stop = threading.Event()
    try:
        with app.app_context():
            tenant = make_tenant()
            move_to_plan(tenant, "large")
            first = build_world(tenant=tenant)
            worlds = [first] + [another_room(first) for _ in range(args.rooms - 1)]
            # from many networks, as residents are (a network may join 300 times in ten minutes)
            tokens = [worlds[n % len(worlds)].resident_token(
                worlds[n % len(worlds)].join(f"Resident {n}", ip=f"198.51.{n // 200}.{n % 200 + 1}"))
                for n in range(args.residents)]
            measuring = [[LiveClient(live.url, w.resident_token(w.join(f"Measurer {n}")),
                                     last_seq=w.room["last_seq"]).connect() for n in range(max(1, 5 // args.rooms))]
                         for w in worlds]
            hosts = [LiveClient(live.url, w.staff_token(w.host), staff_last_seq=0).connect() for w in worlds]
        counts, ready = {"connected": 0, "finals": 0}, threading.Event()
        crowd = threading.Thread(target=lambda: asyncio.run(idle_residents(live.url, tokens, ready, stop, counts)),
                                 daemon=True)
        crowd.start()
        ready.wait(300)
        print(f"{counts['connected']} idle residents connected", flush=True)
        wav, spans = spoken_session(tmp)
        pcm = pcm_of(wav)
        cpu0 = sum(worker_proc.cpu_times()[:2])
        live0 = sum(live_proc.cpu_times()[:2])
        started = time.monotonic()
        ends: dict[int, list[float]] = {}

        def speaker(n):
            time.sleep(n * 0.37)   # rooms do not start speaking in the same instant
            ends[n] = speak_in_real_time(hosts[n], pcm, spans, args.rounds)
        threads = [threading.Thread(target=speaker, args=(n,)) for n in range(len(worlds))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        audio_seconds = len(worlds) * args.rounds * len(pcm) / 2 / RATE
        phrases = args.rounds * len(spans)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(len(c.events_of("caption.final")) for room in measuring
                                                  for c in room) < phrases:
            time.sleep(0.2)
        cpu = sum(worker_proc.cpu_times()[:2]) - cpu0
        live_cpu = sum(live_proc.cpu_times()[:2]) - live0
        latencies, wers = [], []
        expected = " ".join(measure.CLIPS * args.rounds)
        for n, room in enumerate(measuring):
            wers.append(measure.word_error_rate(expected, " ".join(e["data"]["text"] for e in room[0].events_of("caption.final"))))
            for client in room:
                latencies += latencies_of(client, pcm, spans, args.rounds, ends[n])
        latencies.sort()
        per_minute = cpu / audio_seconds * 60
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
        pinned = f"pinned to CPU {args.worker_core}" if args.worker_core is not None else "unpinned"
        print(f"\nrooms {len(worlds)}; residents {counts['connected']} idle + {sum(map(len, measuring))} measuring; "
              f"audio {audio_seconds:.1f} s in {time.monotonic() - started:.1f} s; caption worker {pinned}")
        print(f"final lines per measuring resident: {[len(c.events_of('caption.final')) for r in measuring for c in r]} "
              f"(phrases spoken per room: {phrases}); idle residents received {counts['finals']} final lines")
        print(f"speech end -> caption at a resident: p50 {statistics.median(latencies):.2f} s, p95 {p(0.95):.2f} s, "
              f"max {latencies[-1]:.2f} s ({len(latencies)} samples)")
        print(f"word error rate per room: {', '.join(f'{w:.1%}' for w in wers)}")
        print(f"caption worker CPU: {cpu:.1f} s for {audio_seconds:.1f} s of audio = {per_minute:.1f} CPU s per "
              f"audio minute -> about {60 / per_minute:.1f} rooms per worker core")
        print(f"live process CPU: {live_cpu:.1f} s")
        for client in [*hosts, *(c for room in measuring for c in room)]:
            client.disconnect()
    finally:
        stop.set()
        worker.stop()
        live.stop()
        stack.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
