"""A tenant's export: a ZIP of every tenant-owned table (JSON and CSV, secrets left out) and the
transcripts, requested by staff or the platform admin and built by a worker."""
from __future__ import annotations

import base64
import csv
import io
import json
import zipfile

from psycopg import sql

from services.ops import jobs
from tenants import audit
from tenants.csv_safe import safe_cell
from tenants.db import Tx, tenant_scope

SECRET_COLUMNS = {"password_hash", "totp_secret", "totp_pending_secret", "token_hash", "verification_token"}


def _plain(value):
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (dict, list)):
        return value
    return value if value is None or isinstance(value, (int, float, bool, str)) else str(value)


def build_export(tx: Tx) -> bytes:
    """A ZIP of every tenant-owned table (JSON and CSV) and the transcripts, for the tenant in scope."""
    tables = [r["table_name"] for r in tx.all(
        "select distinct c.table_name from information_schema.columns c join information_schema.tables t"
        " on t.table_name = c.table_name and t.table_schema = c.table_schema"
        " where c.table_schema = 'public' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'"
        " and c.table_name <> 'tenant_exports' order by 1")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        tenant = tx.one("select * from tenants where id = %s", [tx.tenant_id])
        zf.writestr("tenant.json", json.dumps({k: _plain(v) for k, v in tenant.items()}, indent=1))
        for table in tables:
            rows = [{k: _plain(v) for k, v in row.items() if k not in SECRET_COLUMNS}
                    for row in tx.all(sql.SQL("select * from {}").format(sql.Identifier(table)))]
            zf.writestr(f"tables/{table}.json", json.dumps(rows, indent=1, default=str))
            text = io.StringIO()
            if rows:
                writer = csv.DictWriter(text, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows({k: safe_cell(json.dumps(v) if isinstance(v, (dict, list)) else v)
                                  for k, v in r.items()} for r in rows)   # residents' text must not run as a formula
            zf.writestr(f"tables/{table}.csv", text.getvalue())
        for t in tx.all("select room_id, html, text, pdf from transcripts"):
            zf.writestr(f"transcripts/{t['room_id']}.html", t["html"])
            zf.writestr(f"transcripts/{t['room_id']}.txt", t["text"])
            zf.writestr(f"transcripts/{t['room_id']}.pdf", bytes(t["pdf"]))
    return out.getvalue()


def request_export(tx: Tx, requested_by: str) -> dict:
    row = tx.one("insert into tenant_exports (tenant_id, requested_by) values (%s, %s) returning *",
                 [tx.tenant_id, requested_by])
    tenant_id = tx.tenant_id
    tx.after_commit(lambda: jobs.enqueue(jobs.BUILD_EXPORT, str(tenant_id), str(row["id"])))
    return row


def run_export(tenant_id, export_id) -> str:
    with tenant_scope(tenant_id) as tx:
        row = tx.one("select * from tenant_exports where id = %s for update skip locked", [export_id])
        if row is None or row["status"] == "ready":
            return "skipped"
        data = build_export(tx)
        tx.execute("update tenant_exports set status = 'ready', zip = %s, size_bytes = %s, ready_at = now()"
                   " where id = %s", [data, len(data), export_id])
        audit.record(tx, actor_kind="system", actor_label="export", action="tenant.exported",
                     target_kind="export", target_id=export_id, details={"bytes": len(data)})
    return "ready"
