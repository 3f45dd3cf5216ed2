"""Sends webhook deliveries (rows in `webhook_deliveries`), retrying with exponential backoff.

Idempotent: a delivered or failed row is not sent again; a receiver can also drop repeats by the
`X-Townhall-Delivery` id (a worker lost mid-request means the request may arrive twice).
"""
from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from uuid import UUID

from flask import current_app

from services.api.webhooks import public_address, sign
from tenants.db import tenant_scope
from services.ops import jobs
from workers.celery_app import celery_app

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10


def backoff(attempt: int) -> float:
    """Seconds before the next try: base × 2^(attempt-1), at most ten minutes (short: Redis-safe)."""
    base = float(os.environ.get("WEBHOOK_RETRY_SECONDS", "30"))
    return min(base * 2 ** (attempt - 1), 600.0)


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (checked URL)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@celery_app.task(name=jobs.DELIVER_WEBHOOK, bind=True, acks_late=True, max_retries=MAX_ATTEMPTS - 1)
def deliver(self, tenant_id: str, delivery_id: str) -> str:
    tenant = UUID(tenant_id)
    with tenant_scope(tenant) as tx:
        row = tx.one("select d.id, d.event, d.payload, d.status, d.attempts, e.url, e.secret, e.active"
                     " from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id"
                     " where d.id = %s", [UUID(delivery_id)])
    if row is None or row["status"] != "pending" or not row["active"]:
        return "skipped"
    attempt = row["attempts"] + 1
    body = json.dumps(row["payload"], separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Townhall-Webhooks/1",
               "X-Townhall-Event": row["event"], "X-Townhall-Delivery": delivery_id,
               "X-Townhall-Signature": sign(row["secret"], int(time.time()), body)}
    status, error = None, None
    if current_app.config["TOWNHALL"].is_production and not public_address(row["url"]):
        error = "the endpoint's address is not a public internet address"
    else:
        try:
            status = _post(row["url"], body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (OSError, urllib.error.URLError) as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:300]
    done = error is None
    final = done or attempt >= MAX_ATTEMPTS
    with tenant_scope(tenant) as tx:
        tx.execute("update webhook_deliveries set attempts = %s, last_status = %s, last_error = %s,"
                   " status = %s, delivered_at = case when %s then now() end where id = %s",
                   [attempt, status, error, "delivered" if done else ("failed" if final else "pending"), done,
                    UUID(delivery_id)])
    if not final:
        raise self.retry(countdown=backoff(attempt))
    if not done:
        log.warning("webhook delivery %s failed after %s attempts: %s", delivery_id, attempt, error)
    return "delivered" if done else "failed"
