"""Signed webhooks: room.live, room.closed, transcript.ready.

`enqueue(tx, event, payload)` writes one delivery row per subscribed endpoint in the caller's
transaction (an outbox) and, after commit, queues a Celery task per row (workers/webhooks.py),
which POSTs the JSON and retries with backoff. Each request carries
`X-Townhall-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint secret>`,
`X-Townhall-Event` and `X-Townhall-Delivery` (a receiver ignores a delivery id it has seen).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from datetime import datetime, timezone
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from services.ops import jobs
from tenants import audit
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import NotFound, ValidationFailed
from tenants.roles import require


EVENTS = ("room.live", "room.closed", "transcript.ready")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_url(url: str, *, production: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in (("https",) if production else ("https", "http")) or not parts.hostname:
        raise ValidationFailed("Enter the full address of your endpoint, starting with https://.", field="url")
    return url.strip()


def public_address(url: str) -> bool:
    """False for loopback, private, link-local and reserved addresses (no requests into our network)."""
    try:
        infos = socket.getaddrinfo(urlsplit(url).hostname, None)
    except (socket.gaierror, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(a.is_global for a in addresses)


def create_endpoint(tx: Tx, staff: Staff, url: str, events: list[str], *, production: bool) -> dict:
    """Returns the row including its secret, which the console shows once."""
    require(staff.role, "settings.edit")
    events = sorted(set(events))
    if not events or not set(events) <= set(EVENTS):
        raise ValidationFailed("Choose at least one event.", field="events")
    row = tx.one("insert into webhook_endpoints (tenant_id, url, secret, events, created_by)"
                 " values (%s, %s, %s, %s, %s) returning *",
                 [tx.tenant_id, check_url(url, production=production), "whsec_" + secrets.token_urlsafe(32),
                  events, staff.id])
    audit.record_staff(tx, staff, "webhook.created", "webhook", row["id"], {"url": row["url"], "events": events})
    return row


def delete_endpoint(tx: Tx, staff: Staff, endpoint_id) -> None:
    require(staff.role, "settings.edit")
    row = tx.one("delete from webhook_endpoints where id = %s returning id, url", [endpoint_id])
    if row is None:
        raise NotFound("We could not find that webhook.")
    audit.record_staff(tx, staff, "webhook.deleted", "webhook", row["id"], {"url": row["url"]})


def list_endpoints(tx: Tx) -> list[dict]:
    return tx.all("select e.id, e.url, e.events, e.active, e.created_at,"
                  " (select count(*) from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'failed')"
                  " as failed from webhook_endpoints e order by e.created_at")


def enqueue(tx: Tx, event: str, data: dict) -> list[str]:
    """Queues `event` for every active endpoint of this tenant subscribed to it (after commit)."""
    assert event in EVENTS, event
    payload = {"event": event, "occurred_at": datetime.now(timezone.utc).isoformat(), "data": data}
    rows = tx.all("insert into webhook_deliveries (tenant_id, endpoint_id, event, payload)"
                  " select tenant_id, id, %s, %s from webhook_endpoints where active and %s = any(events)"
                  " returning id", [event, Jsonb(payload), event])
    ids = [str(r["id"]) for r in rows]
    if ids:
        tenant_id = str(tx.tenant_id)

        def send():
            for delivery_id in ids:
                jobs.enqueue(jobs.DELIVER_WEBHOOK, tenant_id, delivery_id, queue="default")
        tx.after_commit(send)
    return ids


def room_payload(room: dict) -> dict:
    return {"id": str(room["id"]), "title": room["title"], "title_cy": room.get("title_cy", ""),
            "state": room["state"], "starts_at": room["starts_at"].isoformat(),
            "ends_at": room["ends_at"].isoformat(), "short_code": room.get("short_code")}
