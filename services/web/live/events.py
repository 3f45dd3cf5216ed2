"""Socket.IO handlers: thin callers of the live commands, with authorisation on every event.

A connection proves who it is with a signed token from the page (see tokens.py) and says the
last sequence it saw; it then receives what it missed from the database, in order. Every event
re-checks the identity against the database inside the token's tenant scope, so a staff member
removed a second ago can no longer act, and another tenant's ids are simply not found.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import wraps
from time import monotonic
from urllib.parse import urlsplit

from flask import current_app, request
from flask_babel import force_locale, gettext as _
from flask_socketio import ConnectionRefusedError, emit, join_room

from services.ops import metrics
from services.web.extensions import socketio
from services.lib.i18n import LANGUAGES, reader_sentence
from services.live import commands, presence
from services.rooms.channels import participant_channel, room_channel, staff_channel
from services.rooms.event_log import REPLAY_BATCH, events_after, send_events_after
from services.live.queries import participant_state, send_participant_state
from services.live.schemas import ResumeSchema
from services.live.tokens import LiveIdentity, read_token
from services.web.request_info import client_ip_from_environ
from services.rooms.lifecycle import PUBLIC_STATES
from services.lib.validation import load
from services.rooms.queries import get_room
from tenants.auth import staff_by_id
from tenants.db import tenant_scope
from tenants.resolution import slug_for_domain
from tenants.errors import DomainError, Forbidden, NotFound, Unavailable

log = logging.getLogger(__name__)


@dataclass
class Connection:
    identity: LiveIdentity
    ip: str | None
    presence_id: object = None   # the room_presence row of a resident's connection (usage metering)
    rate: float = 10.0          # events per second on average (LIVE_EVENTS_PER_SECOND)...
    tokens: float = 30.0        # ...with bursts of three seconds' worth
    checked_at: float = field(default_factory=monotonic)
    audio: object = None        # a host's live-audio budget (services/web/live/captions.py)

    def within_budget(self) -> bool:
        """A token bucket per public connection: a flood is answered cheaply, without touching PostgreSQL
        or Redis. Staff are exempt: they are signed in, and a moderator clears a queue in bursts."""
        if self.identity.kind == "staff":
            return True
        now = monotonic()
        self.tokens = min(self.rate * 3, self.tokens + (now - self.checked_at) * self.rate)
        self.checked_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


connections: dict[str, Connection] = {}
draining = False  # set by server.py on SIGTERM: new connections go to another process
per_ip: Counter = Counter()   # open connections per network address on this process


def _in_its_language(handler):
    """An event handler whose replies (refusals included) are in the connection's language; English
    for a socket with no connection here."""
    @wraps(handler)
    def answer(*args):
        conn = connections.get(request.sid)
        with force_locale(conn.identity.lang if conn else "en"):
            return handler(*args)
    return answer


def _one_payload() -> dict:
    return {"ok": False, "error": "invalid", "message": _("Send one object of fields.")}


def _too_fast() -> dict:
    return {"ok": False, "error": "rate_limited", "message": _("You are sending too much too quickly. Wait a moment."),
            "details": {"retry_after": 1}}


def _internal() -> dict:
    return {"ok": False, "error": "internal", "message": _("Something went wrong. Please try again.")}


def origin_checker(base_domain: str, pool, *, allow_loopback: bool = True):
    """Cross-site WebSocket hijacking guard: only our own hosts and tenants' verified domains
    (and, outside production, localhost). When the database cannot say whether a custom domain
    is a tenant's, the connection is refused; the browser simply retries.

    Engine.IO calls this outside any app context, so it closes over what it needs."""
    def allowed(origin: str | None, environ=None) -> bool:
        if not origin:
            return True  # non-browser clients send no Origin; they still need a signed token
        host = (urlsplit(origin).hostname or "").lower()
        if host == base_domain or host.endswith("." + base_domain):
            return True
        if allow_loopback and host in ("localhost", "127.0.0.1"):
            return True
        try:
            return bool(host) and slug_for_domain(pool, host) is not None
        except Unavailable:
            return False
    return allowed


def _client_ip() -> str | None:
    return client_ip_from_environ(request.environ, current_app.config["TOWNHALL"].proxy_hops)


@socketio.on("connect")
def on_connect(auth):
    auth = auth if isinstance(auth, dict) else {}
    identity = read_token(auth.get("token"))
    # a refused page shows our message: in its language, from the token or else as the page says
    with force_locale(identity.lang if identity else _page_lang(auth)):
        if draining:   # `retry`: the page tries again (services/static/js/live.js), reaching another process
            raise ConnectionRefusedError(_("This server is restarting: reconnecting."), {"retry": True})
        ip = _client_ip()
        limit = current_app.config["TOWNHALL"].live_connections_per_ip
        if limit and per_ip[ip] >= limit:
            raise ConnectionRefusedError(_("There are too many connections from your network. Close some tabs, "
                                           "or try again in a few minutes."))
        per_ip[ip] += 1   # held while we check the token, so a burst of connections cannot slip past the limit
        try:
            _accept(auth, identity, ip)
        except BaseException:
            connections.pop(request.sid, None)
            _release(ip)
            raise


def _page_lang(auth: dict) -> str:
    """The language the page says it is in (its `<html lang>`: "cy", or "en-GB", which is English anyway)."""
    lang = auth.get("lang")
    return lang if isinstance(lang, str) and lang in LANGUAGES else "en"


def _release(ip: str | None) -> None:
    per_ip[ip] -= 1
    if per_ip[ip] <= 0:
        del per_ip[ip]


def _accept(auth: dict, identity: LiveIdentity | None, ip: str | None) -> None:
    if identity is None:
        raise ConnectionRefusedError(_("Your session has expired: reload the page to reconnect."))
    resident = identity.kind == "resident"
    try:
        # one round trip for every read of a join (pipeline mode: nothing is awaited until the room
        # is read), one for COMMIT; the resident's metering row is written later, in a batch
        with tenant_scope(identity.tenant_id, pipeline=True) as tx:
            room_cursor = tx.execute("select r.*, (select p.room_id from participants p where p.id = %s)"
                                     " as participant_room_id from rooms r where r.id = %s",
                                     [identity.subject_id if resident else None, identity.room_id])
            replay = _send_replay(tx, identity, auth)
            room = room_cursor.fetchone()
            if room is None:
                raise NotFound(_("We could not find that chat."))
            _check_identity(tx, identity, room, room.pop("participant_room_id"))
            replay = replay()
    except DomainError as exc:
        raise ConnectionRefusedError(exc.message) from None
    presence_id = presence.record_connect(identity) if resident else None
    rate = current_app.config["TOWNHALL"].live_events_per_second
    connections[request.sid] = Connection(identity, ip, presence_id, rate=rate, tokens=rate * 3)
    _note_seq(room_channel(identity.room_id), room["last_seq"])
    if identity.kind == "staff":
        _note_seq(staff_channel(identity.room_id), room["staff_last_seq"])
    join_room(room_channel(identity.room_id))
    if identity.kind == "staff":
        join_room(staff_channel(identity.room_id))
    if identity.kind == "resident":
        join_room(participant_channel(identity.subject_id))
    for event_name, payload in replay:
        # to this connection, which is on this process: straight to its socket, not through Redis
        # (the queue would publish every join's state to every live process)
        emit(event_name, payload, ignore_queue=True)
    presence.joined(identity.room_id, identity.subject_id if identity.kind == "resident" else None)
    if identity.kind != "staff":
        metrics.resident_connected(identity.tenant_id)


def _note_seq(channel: str, seq: int) -> None:
    note = getattr(socketio.server.manager, "note_seq", None)
    if note:
        note(channel, seq)


def catch_up_after_outage(app, watermarks: dict[str, int]) -> None:
    """Redis came back (services/web/live/message_queue.py): send this process's clients, from PostgreSQL, every
    event after what was last delivered here, and residents their own state (private messages and
    question statuses emitted while Redis was away). Clients ignore what they already have."""
    manager = socketio.server.manager
    here = manager.local_rooms()
    tenant_of = {str(c.identity.room_id): c.identity.tenant_id for c in list(connections.values())}
    with app.app_context():
        for channel, seq in watermarks.items():
            stream, _, room_id = channel.partition(":")
            if stream not in ("room", "staff") or channel not in here or room_id not in tenant_of:
                continue
            while True:   # in batches, until nothing is left
                try:
                    with tenant_scope(tenant_of[room_id]) as tx:
                        missed = events_after(tx, stream, room_id, seq)
                except DomainError:
                    log.warning("catch-up of %s skipped: database unavailable", channel)
                    break
                if missed:
                    manager.emit_here(f"{stream}_events", missed, to=channel)
                if len(missed) < REPLAY_BATCH:
                    break
                seq = missed[-1]["seq"]
        for sid, conn in list(connections.items()):
            if conn.identity.kind != "resident":
                continue
            try:
                with tenant_scope(conn.identity.tenant_id) as tx:
                    state = participant_state(tx, conn.identity.subject_id)
            except DomainError:
                continue
            manager.emit_here("my_state", state, to=sid)


def _check_identity(tx, identity: LiveIdentity, room: dict, participant_room_id) -> None:
    if identity.kind == "staff":
        _live_staff(tx, identity.subject_id)
        return
    if room["state"] not in PUBLIC_STATES:
        raise NotFound(_("We could not find that chat."))
    if identity.kind == "resident":
        if participant_room_id != room["id"]:  # no such participant (None), or one of another room
            raise Forbidden(_("Join the chat again to take part."))


def _live_staff(tx, staff_id):
    """Re-checked on connect and on every event: removed staff are refused at once. Panelists never
    use the staff stream (it carries every pending question); their page is server-rendered."""
    staff = staff_by_id(tx, staff_id)
    if staff is None or staff.role == "panelist":
        raise Forbidden("You are no longer signed in as staff.")
    return staff


def _send_replay(tx, identity: LiveIdentity, auth: dict):
    """Send the reads of what this connection missed (read after it will have joined its rooms:
    duplicates are ignored client-side); returns the function that reads them as events to emit."""
    reads = []
    after = _int(auth.get("last_seq"))
    if after is not None:
        reads.append(("room_events", send_events_after(tx, "room", identity.room_id, after)))
    if identity.kind == "staff":
        staff_after = _int(auth.get("staff_last_seq"))
        if staff_after is not None:
            reads.append(("staff_events", send_events_after(tx, "staff", identity.room_id, staff_after)))
    state = send_participant_state(tx, identity.subject_id) if identity.kind == "resident" else None

    def read() -> list[tuple[str, object]]:
        out = [(name, events) for name, events in ((name, read_events()) for name, read_events in reads)
               if events]  # nothing missed: send nothing
        if state is not None:
            out.append(("my_state", state()))
        return out
    return read


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62 else None


@socketio.on("disconnect")
def on_disconnect(*args):
    conn = connections.pop(request.sid, None)
    if conn:
        _release(conn.ip)
        resident = conn.identity.kind == "resident"
        presence.left(conn.identity.room_id, conn.identity.subject_id if resident else None)
        if conn.identity.kind != "staff":
            metrics.resident_disconnected(conn.identity.tenant_id)
        if conn.presence_id is not None:
            presence.record_disconnect(conn.identity.tenant_id, conn.presence_id)


@socketio.on("resume")
@_in_its_language
def on_resume(*args):
    """A client saw a gap: send the missing events (bounded batch; the client asks again if needed)."""
    if len(args) > 1:
        return _one_payload()
    payload = args[0] if args else None
    conn = connections.get(request.sid)
    if conn is None:
        return {"ok": False, "error": "unauthorized", "message": _("Reconnect to continue.")}
    if not conn.within_budget():
        return _too_fast()
    try:
        data = load(ResumeSchema, payload)
        if data["stream"] == "staff" and conn.identity.kind != "staff":
            raise Forbidden(_("Staff only."))
        with tenant_scope(conn.identity.tenant_id) as tx:
            events = events_after(tx, data["stream"], conn.identity.room_id, data["after"])
    except DomainError as exc:
        return _refusal(exc, conn.identity.kind)
    return {"ok": True, "events": events}


@_in_its_language
def _dispatch(name: str, args: tuple, table: dict, kind: str):
    if len(args) > 1:
        return _one_payload()
    payload = args[0] if args else None
    conn = connections.get(request.sid)
    if conn is None or conn.identity.kind != kind:
        return {"ok": False, "error": "forbidden", "message": _("You cannot do that here.")}
    if not conn.within_budget():
        return _too_fast()
    command = table[name]
    try:
        data = commands.validate(command, payload)
        # pipeline mode: each fetch is one round trip for every statement sent before it (BEGIN,
        # the tenant setting and the actor's check go together; so do the audit row and the events)
        with tenant_scope(conn.identity.tenant_id, pipeline=True) as tx:
            actor = _actor(tx, conn)
            result = commands.execute(command, tx, actor, conn.identity.room_id, data)
    except DomainError as exc:
        return _refusal(exc, kind)
    except Exception:
        log.exception("live command %s failed", name)
        return _internal()
    return {"ok": True, **result}


def _refusal(exc: DomainError, kind: str) -> dict:
    """A resident reads the sentence, without the (English) field name; staff get the message as it is."""
    refusal = {"ok": False, **exc.as_dict()}
    return {**refusal, "message": reader_sentence(exc)} if kind == "resident" else refusal


def _actor(tx, conn: Connection):
    if conn.identity.kind == "staff":
        return replace(_live_staff(tx, conn.identity.subject_id), ip=conn.ip)
    participant = tx.one("select * from participants where id = %s", [conn.identity.subject_id])
    if participant is None:
        # a chat deleted meanwhile took its participants with it: say the chat is gone (the room is
        # read only here, on the refusal, not on every command)
        get_room(tx, conn.identity.room_id)
        raise Forbidden(_("Join the chat again to take part."))
    return participant


def _register(table: dict, kind: str) -> None:
    for name in table:
        socketio.on_event(name, lambda *args, _n=name: _dispatch(_n, args, table, kind))


@socketio.on("*")
@_in_its_language
def on_unknown_event(event, *args):
    """Every event gets an answer, so a client never waits for an acknowledgement that cannot come."""
    return {"ok": False, "error": "unknown_event", "message": _("That action does not exist.")}


@socketio.on_error_default
@_in_its_language
def on_unexpected_error(exc):
    log.exception("live event %s failed", (getattr(request, "event", None) or {}).get("message"))
    return _internal()


_register(commands.RESIDENT_COMMANDS, "resident")
_register(commands.STAFF_COMMANDS, "staff")
