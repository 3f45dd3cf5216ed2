"""Residents on the official socket.io-client (npm), driven like the load generator's workers.

``OfficialClientGenerator`` is a :class:`~tests.perf.loadgen.LoadGenerator` whose worker processes
are ``node tests/perf/official_client/residents.js --worker`` instead of the picows generator: the
same JSON-line commands (connect, stats, close), so every scenario of the harness can use it; the
workers return each resident's raw record (sequence, receipt time, replay or live) and this side
analyses them with the load generator's own ``analyse``, so lost, reordered, duplicates and
latency mean exactly what they mean for ``fanout``. The residents use the client's default
transports (long-polling first, then the upgrade to a WebSocket) and reconnection, and send
``auth`` as the room page does (token plus the last sequence applied).

``npm ci`` runs in tests/perf/official_client when its node_modules is missing (socket.io-client
pinned by package-lock.json), as for the reference server.
"""
from __future__ import annotations

import base64
import json
import subprocess
from array import array
from pathlib import Path
from typing import Any

from tests.perf.loadgen import LoadGenerator, Resident, analyse, percentile
from tests.perf.targets import PERF_DIR, node_binary

OFFICIAL_DIR = PERF_DIR / "official_client"
SCRIPT = "residents.js"


def ensure_installed(client_dir: Path = OFFICIAL_DIR, timeout: float = 300.0) -> None:
    """``npm ci`` in tests/perf/official_client when node_modules is missing."""
    if (client_dir / "node_modules" / "socket.io-client" / "package.json").exists():
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=str(client_dir), check=True, timeout=timeout,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def client_version(client_dir: Path = OFFICIAL_DIR) -> str | None:
    f = client_dir / "node_modules" / "socket.io-client" / "package.json"
    return json.loads(f.read_text())["version"] if f.exists() else None


def _floats(b64: str, code: str) -> array:
    a = array(code)
    a.frombytes(base64.b64decode(b64))
    return a


def resident_from_record(rec: dict) -> Resident:
    """A loadgen Resident holding what one official client recorded (for ``analyse``)."""
    seqs = _floats(rec["seqs_b64"], "d")
    state = rec["state"]
    if state == "joined" and not rec["connected"]:
        state = "dropped"
    r = Resident(idx=rec["idx"], url="", room=rec["room"], auth=None, headers=None, state=state,
                 error=rec.get("error"), t_start=rec.get("t_start") or 0.0, t_joined=rec.get("t_joined") or 0.0)
    r.seqs = array("q", (int(s) for s in seqs))
    r.times = _floats(rec["times_b64"], "d")
    r.sent = array("d", bytes(8 * len(seqs)))  # Townhall's events carry no sent_at
    return r


class OfficialClientGenerator(LoadGenerator):
    """Load generator workers running the official socket.io-client in Node.js."""

    name = "official"

    def __init__(self, workers: int = 2, source_ips: list[str] | None = None, stderr_path: Path | None = None,
                 transports: list[str] | None = None, upgrade_timeout: float = 10.0,
                 record_payloads: bool = False, replay_event: str | None = "room_events") -> None:
        super().__init__(workers=workers, source_ips=None, stderr_path=stderr_path)
        # residents all come from 127.0.0.1: the client has no portable way to pick a source address
        self.ignored_source_ips = source_ips or []
        self.transports = transports
        self.upgrade_timeout = upgrade_timeout
        self.record_payloads = record_payloads
        self.replay_event = replay_event
        self.last_records: list[dict] = []   # what the last records() / collect() returned, per worker
        self._owner: dict[int, int] = {}     # resident index -> the worker holding it

    def worker_command(self) -> tuple[list[str], Path]:
        ensure_installed()
        return [node_binary(), SCRIPT, "--worker"], OFFICIAL_DIR

    def connect_options(self) -> dict:
        return {"transports": self.transports, "upgrade_timeout": self.upgrade_timeout,
                "record_payloads": self.record_payloads, "replay_event": self.replay_event}

    async def records(self, since: float = 0.0) -> list[dict]:
        """Every resident's record (summary fields plus base64 arrays) from every worker."""
        self.last_records = await self.all({"cmd": "records", "since": since}, timeout=600)
        return self.last_records

    async def collect_parts(self, msg: dict) -> list[dict]:
        parts = await self.records(float(msg.get("since", 0.0)))
        out = []
        for part in parts:
            residents = [resident_from_record(rec) for rec in part["residents"]]
            lag_t = _floats(part["lag_t_b64"], "d")
            lag_ms = _floats(part["lag_ms_b64"], "f")
            out.append(analyse(residents, lag_t, lag_ms, msg))
        return out

    async def freeze(self, idx: int) -> dict:
        """Resident ``idx`` stops answering pings (the server then drops its connection)."""
        return await self._on_owner(idx, {"cmd": "freeze", "idx": idx})

    async def emit(self, idx: int, event: str, payload: Any, timeout: float = 10.0) -> dict:
        """Resident ``idx`` emits ``event`` with an acknowledgement: {"reply": ..., "transport": ...}.
        ``{"$bytes": base64}`` values are sent as binary attachments."""
        return await self._on_owner(idx, {"cmd": "emit", "idx": idx, "event": event, "payload": payload,
                                          "timeout": timeout}, timeout=timeout + 10)

    async def _on_owner(self, idx: int, msg: dict, timeout: float = 30.0) -> dict:
        # connect() hands client j (index first_index + j) to worker j % n_workers
        return await self.request(self._owner.get(idx, idx % self.n_workers), msg, timeout=timeout)

    async def connect(self, clients, proto, concurrency: int = 200, timeout: float = 30.0, first_index: int = 0) -> dict:
        self._owner.update({first_index + j: j % self.n_workers for j in range(len(clients))})
        res = await super().connect(clients, proto, concurrency=concurrency, timeout=timeout, first_index=first_index)
        res["upgraded"] = (await self.stats())["upgraded"]   # connected and on a WebSocket now
        return res

    async def stats(self) -> dict:
        res = await self.all({"cmd": "stats"}, timeout=60)
        return {k: sum(r[k] for r in res) for k in ("received", "joined", "held", "failed", "dropped", "clients",
                                                     "upgraded", "pings", "reconnects")}


def interop_figures(parts: list[dict]) -> dict:
    """What the official clients did at the protocol level, summed over every resident."""
    recs = [rec for part in parts for rec in part["residents"] if rec["state"] in ("joined", "closed")]
    opened: dict[str, int] = {}
    now_on: dict[str, int] = {}
    reasons: dict[str, int] = {}
    errors: dict[str, int] = {}
    upgrade_ms = []
    for rec in recs:
        for t in rec["opened"]:
            opened[str(t)] = opened.get(str(t), 0) + 1
        now_on[str(rec["transport"])] = now_on.get(str(rec["transport"]), 0) + 1
        for _, reason in rec["disconnects"]:
            reasons[reason] = reasons.get(reason, 0) + 1
        for k, v in rec["connect_errors"].items():
            errors[k] = errors.get(k, 0) + v
        upgrade_ms.extend(rec["upgrade_ms"])
    upgrade_ms.sort()
    replayed = 0
    for rec in recs:
        replayed += sum(_floats(rec["sources_b64"], "B")) if rec["sources_b64"] else 0
    return {
        "clients": len(recs),
        "opened_on_polling": sum(1 for rec in recs if rec["opened"][:1] == ["polling"]),
        "upgraded_to_websocket": sum(1 for rec in recs if rec["upgrades"] >= 1 and rec["transport"] == "websocket"),
        "connections_opened": opened,
        "transport_at_end": now_on,
        "upgrade_ms": {"p50": percentile(upgrade_ms, 50), "p99": percentile(upgrade_ms, 99),
                       "max": upgrade_ms[-1] if upgrade_ms else None},
        "pings_answered": sum(rec["pings"] for rec in recs),
        "clients_with_a_ping": sum(1 for rec in recs if rec["pings"] >= 1),
        "reconnects": sum(rec["reconnects"] for rec in recs),
        "disconnect_reasons": reasons,
        "connect_errors": errors,
        "replayed_deliveries": int(replayed),
    }
