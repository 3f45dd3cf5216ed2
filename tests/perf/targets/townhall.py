"""Townhall's own live path as a benchmark target.

Residents are real participants (rows in PostgreSQL) holding signed live tokens, exactly as the
room page gives them; the publisher is a moderator's Socket.IO connection that approves pending
questions, so every publish goes through the real path: the `approve` command, the room event
log (same transaction), the emit through the Redis message queue, and delivery by every live
process to its residents. Townhall always fans out through Redis (any process may emit), so
`message_queue=False` still uses it; the results say so.
"""
from __future__ import annotations

import os
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.perf.loadgen import SioClient, SioProtocol
from tests.perf.targets import BaseTarget, TargetContext

ROOT = Path(__file__).resolve().parents[3]
BATCH = 1000          # participants created per insert
QUESTIONS_BATCH = 500  # pending questions created per insert
BENCH_PLAN = "benchmark"
BENCH_CONNECTIONS_PER_IP = 100_000   # instead of 500 (services/ops/config.py): the limit is still checked
BENCH_EVENTS_PER_SECOND = 100_000    # instead of 10 per connection: the budget is still checked


class TownhallPublisher:
    """A moderator approving pending questions, one `approve` call per publish."""

    def __init__(self, target: "TownhallTarget", url: str, token: str) -> None:
        self.target = target
        self.client = SioClient(url, auth={"token": token, "last_seq": None})

    async def connect(self) -> "TownhallPublisher":
        await self.client.connect()
        return self

    async def publish(self, room: str, seq: int) -> None:
        import asyncio

        question_id = await asyncio.to_thread(self.target.next_question, room)
        reply = await self.client.call("approve", {"question_id": question_id})
        if not reply or not reply.get("ok"):
            raise RuntimeError(f"approve refused: {reply}")

    async def close(self) -> None:
        await self.client.close()


class TownhallTarget(BaseTarget):
    name = "townhall"

    def __init__(self, ctx: TargetContext) -> None:
        super().__init__(ctx)
        self.stack = None
        self.app = None
        self.env: dict[str, str] = {}
        self.rooms: dict[str, dict] = {}      # harness room name -> {id, offset, author, questions, made}
        self.tenant = None
        self.moderator = None

    # -- processes ----------------------------------------------------------

    def start(self, processes: int = 1, message_queue: bool | None = None) -> None:
        from services.app import create_app
        from services.ops.config import load_config
        from tenants.migrate import migrate
        from tests.support.stack import start_test_stack

        self.stack = start_test_stack(tempfile.mkdtemp(prefix="townhall-bench-"))
        migrate(self.stack.owner_url)
        self.env = {**os.environ, "TOWNHALL_ENV": "test", "DATABASE_URL": self.stack.owner_url,
                    "REDIS_URL": self.stack.redis_url, "SECRET_KEY": f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}",
                    "LOG_FORMAT": "text", "LOG_LEVEL": "WARNING", "DB_POOL_MAX": "20",
                    # every resident comes from 127.0.0.x: the per-address limit (500) stays on, but high
                    "LIVE_CONNECTIONS_PER_IP": str(BENCH_CONNECTIONS_PER_IP),
                    # the publisher is one moderator approving up to hundreds of questions a second (scale-out)
                    "LIVE_EVENTS_PER_SECOND": str(BENCH_EVENTS_PER_SECOND),
                    "SOCKETIO_CHANNEL": f"townhall-bench-{uuid.uuid4().hex[:8]}", "HOST": self.ctx.host}
        self.app = create_app(load_config(self.env), process="cli")
        try:
            for _ in range(processes):
                port = self.free_port(self.ctx.host)
                self.spawn([sys.executable, "-m", "services.cli", "live", "--port", str(port)], env=self.env,
                           cwd=ROOT, ready_text=None, port=port, label="townhall-live")
                self.ports.append(port)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        super().stop()
        if self.app is not None:
            self.app.extensions["townhall_db"].close()
            self.app = None
        if self.stack is not None:
            self.stack.drop()
            self.stack = None
        self.rooms.clear()

    # -- data -----------------------------------------------------------------

    def prepare(self, rooms: list[str]) -> None:
        from services.rooms import actions as room_actions
        from tenants.auth import create_staff
        from tenants.db import tenant_scope
        from tenants.provisioning import create_tenant

        start = datetime.now(timezone.utc) + timedelta(minutes=1)
        self._ensure_benchmark_plan()
        with self.app.app_context():
            self.tenant = create_tenant(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Benchmark OPCC", state="active")
            with tenant_scope(self.tenant.id) as tx:
                tx.execute("update tenants set plan = %s where id = %s", [BENCH_PLAN, tx.tenant_id])
                self.moderator = create_staff(tx, email="moderator@bench.police.uk", display_name="Bench Moderator",
                                              role="moderator", password=None)
                admin = create_staff(tx, email="admin@bench.police.uk", display_name="Bench Admin",
                                     role="admin", password=None)
                for name in rooms:
                    room = room_actions.create_room(tx, admin, {"title": f"Benchmark {name}"[:140], "starts_at": start,
                                                                "ends_at": start + timedelta(hours=3),
                                                                "slow_mode_seconds": 0})
                    room_actions.change_state(tx, admin, room["id"], "live")
                    author = tx.value("insert into participants (tenant_id, room_id, display_name)"
                                      " values (%s, %s, 'Bench Author') returning id", [tx.tenant_id, room["id"]])
                    self.rooms[name] = {"id": room["id"], "author": author, "questions": [], "made": 0}
            with tenant_scope(self.tenant.id) as tx:   # the state events are numbered at COMMIT
                for name in rooms:
                    info = self.rooms[name]
                    info["offset"] = tx.value("select last_seq from rooms where id = %s", [info["id"]])

    def _ensure_benchmark_plan(self) -> None:
        """A plan without practical limits (plans are the owner's to write), so a benchmark room can
        hold 10,000 residents and the rooms scenario can open 200 chats in a month."""
        import psycopg

        with psycopg.connect(self.stack.owner_url) as conn:
            conn.execute("insert into plans (name, label, monthly_price_pence, rooms_per_month, participants_per_room,"
                         " staff_seats, caption_minutes, storage_mb) values (%s, 'Benchmark', 0, 100000, 1000000,"
                         " 1000, 0, 0) on conflict (name) do nothing", [BENCH_PLAN])

    def _ensure_participants(self, room: str, i: int) -> None:
        info = self.rooms[room]
        if i < info["made"]:
            return
        from tenants.db import tenant_scope

        first, last = info["made"], max(i + 1, info["made"] + BATCH)
        with self.app.app_context(), tenant_scope(self.tenant.id) as tx:
            with tx.conn.cursor() as cur:
                cur.executemany("insert into participants (id, tenant_id, room_id, display_name) values (%s, %s, %s, %s)",
                                [(self._participant_id(room, k), self.tenant.id, info["id"], f"Resident {k}")
                                 for k in range(first, last)])
        info["made"] = last

    def _participant_id(self, room: str, i: int) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"townhall-bench:{self.tenant.id}:{room}:{i}")

    def next_question(self, room: str) -> str:
        info = self.rooms[room]
        if not info["questions"]:
            from tenants.db import tenant_scope

            with self.app.app_context(), tenant_scope(self.tenant.id) as tx:
                rows = tx.all("insert into questions (tenant_id, room_id, participant_id, body, original_body)"
                              " select %s, %s, %s, b, b from (select 'Benchmark question ' || g ||"
                              " repeat(' about the precept', (g %% 20)) as b from generate_series(1, %s) g) s"
                              " returning id", [self.tenant.id, info["id"], info["author"], QUESTIONS_BATCH])
            info["questions"] = [str(r["id"]) for r in rows]
        return info["questions"].pop()

    # -- the Target interface ----------------------------------------------

    def client_auth(self, room: str, i: int) -> dict:
        from services.live.tokens import LiveIdentity, make_token

        self._ensure_participants(room, i)
        info = self.rooms[room]
        with self.app.app_context():
            token = make_token(LiveIdentity(self.tenant.id, info["id"], "resident", self._participant_id(room, i)))
        return {"token": token, "last_seq": info["offset"]}

    def seq_offset(self, room: str) -> int:
        return self.rooms[room]["offset"]

    def protocol(self) -> SioProtocol:
        return SioProtocol(event="room_event", seq_field="seq", sent_at_field=None)

    async def publisher(self) -> TownhallPublisher:
        from services.live.tokens import LiveIdentity, make_token

        first_room = next(iter(self.rooms.values()))
        with self.app.app_context():
            token = make_token(LiveIdentity(self.tenant.id, first_room["id"], "staff", self.moderator.id))
        return await TownhallPublisher(self, self.urls()[0], token).connect()

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version

        return {p: version(p) for p in ("flask-socketio", "python-socketio", "python-engineio", "gevent",
                                        "wsproto", "psycopg")}


def make_target(ctx: TargetContext) -> TownhallTarget:
    return TownhallTarget(ctx)
