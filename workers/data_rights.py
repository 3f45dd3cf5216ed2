"""Reminders for residents' data requests: beat (daily) finds open requests due within 7 days
that have not been reminded about, and mails the tenant's admins once per request (ref
`data-request-due:<id>`), marking the row in the same transaction."""
from __future__ import annotations

from services.engagement.data_rights import due_for_reminder
from services.lib.formatting import london
from services.lib.links import tenant_url
from workers.celery_app import celery_app, moment
from workers.escalations import tenants_with_work
from services.mail.outbox import brand_colour, queue_mail, render
from tenants.db import tenant_scope


@celery_app.task(name="townhall.data_rights.remind_due", acks_late=True)
def remind_due(now: str | None = None) -> int:
    at = moment(now)
    count = 0
    for tenant_id in tenants_with_work("data_requests", at):
        with tenant_scope(tenant_id) as tx:
            tenant = tx.one("select slug, name, settings from tenants where id = %s", [tenant_id])
            admins = [r["email"] for r in tx.all("select email from staff_users where role = 'admin'"
                                                 " and status = 'active' order by email")]
            for request in due_for_reminder(tx, at):
                days_left = max(0, (request["due_at"] - at).days)
                rendered = render("data_request_due", tenant=tenant, brand=brand_colour(tenant["settings"]),
                                  lang="en", request=request, due=london(request["due_at"], "%-d %B %Y"),
                                  days_left=days_left, console_url=tenant_url(tenant["slug"], "/console/data-requests"))
                for email in admins:
                    queue_mail(tx, ref=f"data-request-due:{request['id']}:{email}", kind="data_request_due",
                               to=email, rendered=rendered, sender_name="Townhall")
                tx.execute("update data_requests set reminded_at = %s where id = %s", [at, request["id"]])
                count += 1
    return count
