"""Safeguarding escalations: the record, the mail to the force's contact centre, the signed webhook.

`record` runs inside the moderator's transaction (services/live/actions.escalate_question): it
stores what is sent (the original text, when it was asked, the display name, and the keyed
network hash only when the tenant's policy allows; we never hold a raw IP), queues the mail
through `outbound_mail` (ref `escalation:<id>`, sent once) and, after commit, the webhook task
(workers/escalations.py), which signs the JSON body with HMAC-SHA256 and retries with backoff.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timezone

from services.engagement import settings as engagement_settings
from services.lib.formatting import london
from services.lib.links import tenant_url
from services.mail.outbox import brand_colour, queue_mail, render
from services.ops import jobs
from tenants.db import Tx

SIGNATURE_HEADER = "X-Townhall-Signature"
TIMESTAMP_HEADER = "X-Townhall-Timestamp"


def record(tx: Tx, staff, question: dict, room: dict, participant: dict, note: str = "") -> dict:
    settings = engagement_settings.read(tx)
    email = settings.get("escalation_email") or None
    url = settings.get("escalation_webhook_url") or None
    share_hash = bool(settings.get("escalation_share_network_hash"))
    row = tx.one(
        "insert into escalations (tenant_id, room_id, question_id, participant_id, staff_id, body, display_name,"
        " asked_at, network_hash, note, email_to, webhook_url, webhook_status)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning *",
        [tx.tenant_id, room["id"], question["id"], participant["id"], staff.id, question["original_body"],
         participant["display_name"], question["created_at"],
         participant["network_hash"] if share_hash else None, note or "", email, url,
         "pending" if url else "none"])
    tenant = tx.one("select slug, name, settings from tenants where id = %s", [tx.tenant_id])
    if email:
        rendered = render("escalation", tenant=tenant, brand=brand_colour(tenant["settings"]), room=room,
                          escalation=row, staff=staff, lang="en", asked=london(row["asked_at"], "%A %-d %B %Y, %H:%M:%S"),
                          console_url=tenant_url(tenant["slug"], "/console/escalations"))
        queue_mail(tx, ref=f"escalation:{row['id']}", kind="escalation", to=email, rendered=rendered,
                   sender_name=tenant["name"], headers={"X-Priority": "1", "Importance": "high"})
    if url:
        tenant_id, escalation_id = tx.tenant_id, row["id"]
        tx.after_commit(lambda: jobs.enqueue(jobs.DELIVER_ESCALATION, str(tenant_id), str(escalation_id), queue="default"))
    return row


def payload(row: dict, tenant: dict, room_title: str, staff_name: str) -> dict:
    """The webhook body: the same for every attempt, so a receiver can drop repeats by `id`."""
    body = {
        "type": "safeguarding.escalation",
        "id": str(row["id"]),
        "tenant": tenant["slug"],
        "room": {"id": str(row["room_id"]), "title": room_title},
        "question": {"id": str(row["question_id"]), "text": row["body"],
                     "asked_at": row["asked_at"].astimezone(timezone.utc).isoformat()},
        "display_name": row["display_name"],
        "escalated_at": row["created_at"].astimezone(timezone.utc).isoformat(),
        "escalated_by": staff_name,
        "note": row["note"],
        "console_url": tenant_url(tenant["slug"], "/console/escalations"),
    }
    if row["network_hash"]:
        body["connection"] = {"network_hash": row["network_hash"]}
    return body


def encode(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: str, raw: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body): a receiver recomputes it over
    the bytes it got and the timestamp header, and rejects old timestamps (replays)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def list_escalations(tx: Tx, limit: int = 200) -> list[dict]:
    return tx.all("select e.*, r.title as room_title, u.display_name as staff_name,"
                  " m.status as mail_status from escalations e join rooms r on r.id = e.room_id"
                  " left join staff_users u on u.id = e.staff_id"
                  " left join outbound_mail m on m.ref = 'escalation:' || e.id::text"
                  " order by e.created_at desc limit %s", [limit])
