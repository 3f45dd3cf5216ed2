"""Live captions benchmark (issue 20): speech-end-to-caption latency at residents, word error rate,
caption-worker CPU per audio minute and rooms per worker core, with many residents connected.

    python -m tests.perf.live_captions                 # 1,000 residents, the spoken session 3 times
    python -m tests.perf.live_captions --residents 200 --rounds 1

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
from tests.support.worlds import build_world
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
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
    worker = start_captions_worker(env, tmp, name="captions-bench")
    stop = threading.Event()
    try:
        with app.app_context():
            world = build_world()
            tokens = [world.resident_token(world.join(f"Resident {n}")) for n in range(args.residents)]
            measuring = [LiveClient(live.url, world.resident_token(world.join(f"Measurer {n}")),
                                    last_seq=world.room["last_seq"]).connect() for n in range(5)]
            host = LiveClient(live.url, world.staff_token(world.host), staff_last_seq=0).connect()
        counts, ready = {"connected": 0, "finals": 0}, threading.Event()
        crowd = threading.Thread(target=lambda: asyncio.run(idle_residents(live.url, tokens, ready, stop, counts)),
                                 daemon=True)
        crowd.start()
        ready.wait(300)
        print(f"{counts['connected']} idle residents connected", flush=True)
        wav, spans = spoken_session(tmp)
        pcm = pcm_of(wav)
        worker_proc, live_proc = psutil.Process(worker.proc.pid), psutil.Process(live.proc.pid)
        cpu0 = sum(worker_proc.cpu_times()[:2])
        live0 = sum(live_proc.cpu_times()[:2])
        speech_ends: list[float] = []      # wall time at which each phrase's speech ended
        started = time.monotonic()
        for round_ in range(args.rounds):
            chunk_sent: dict[int, float] = {}
            next_at = time.monotonic()
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
        audio_seconds = args.rounds * len(pcm) / 2 / RATE
        host.call("caption_audio", {"end": True})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(len(c.events_of("caption.final")) for c in measuring) < len(speech_ends):
            time.sleep(0.2)
        cpu = sum(worker_proc.cpu_times()[:2]) - cpu0
        live_cpu = sum(live_proc.cpu_times()[:2]) - live0
        latencies, heard = [], None
        samples_per_round = len(pcm) // 2
        phrases = [(r * samples_per_round + int(a * RATE), r * samples_per_round + int(b * RATE))
                   for r in range(args.rounds) for a, b in spans]
        for client in measuring:
            finals = [e["data"] for e in client.events_of("caption.final")]
            heard = heard or [f["text"] for f in finals]
            for (first, last), ended in zip(phrases, speech_ends):
                # the phrase's caption is complete with the last final line that starts inside it
                inside = [t for f, t in zip(finals, client.final_arrivals) if first - RATE // 2 <= f["id"] < last]
                if inside:
                    latencies.append(inside[-1] - ended)
        latencies.sort()
        expected = " ".join(measure.CLIPS * args.rounds)
        wer = measure.word_error_rate(expected, " ".join(heard or []))
        per_minute = cpu / audio_seconds * 60
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")  # noqa: E731
        print(f"\nresidents connected: {counts['connected']} idle + 5 measuring; audio {audio_seconds:.1f} s "
              f"in {time.monotonic() - started:.1f} s")
        print(f"final lines per measuring resident: {[len(c.events_of('caption.final')) for c in measuring]} "
              f"(phrases spoken: {len(speech_ends)}); idle residents received {counts['finals']} final lines")
        print(f"speech end -> caption at a resident: p50 {statistics.median(latencies):.2f} s, p95 {p(0.95):.2f} s, "
              f"max {latencies[-1]:.2f} s ({len(latencies)} samples)")
        print(f"word error rate: {wer:.1%}")
        print(f"caption worker CPU: {cpu:.1f} s for {audio_seconds:.1f} s of audio = {per_minute:.1f} CPU s per "
              f"audio minute -> about {60 / per_minute:.1f} rooms per worker core")
        print(f"live process CPU: {live_cpu:.1f} s")
        for client in measuring:
            client.disconnect()
        host.disconnect()
    finally:
        stop.set()
        worker.stop()
        live.stop()
        stack.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
