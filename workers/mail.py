"""Sending outgoing mail: the rows `services/mail/outbox.py` queued go out over SMTP on the `mail` queue.

- `send_mail` claims its row by a status transition (queued -> sending, `FOR UPDATE SKIP LOCKED`),
  sends over SMTP (TLS per SMTP_URL / SMTP_STARTTLS), and marks it sent. A transient failure puts
  the row back to `queued` with `next_attempt_at` and retries with exponential backoff; a permanent
  one (5xx) marks it failed.
- `sweep` (beat, every minute) re-enqueues rows whose task was lost (a Redis restart) and rows stuck
  in `sending` by a killed worker. That last case is the one place a message can go out twice: the
  server accepted it and the worker died before recording so. The stable Message-ID lets a
  receiving system drop the repeat.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app
from psycopg import sql

from services.ops.config import Config
from tenants.ids import parse_uuid
from tenants.db import Tx, tenant_scope, unscoped
from services.mail.outbox import enqueue_send
from services.ops import jobs
from workers.celery_app import celery_app, moment

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 300
STALE_SENDING = timedelta(minutes=10)
OVERDUE = timedelta(minutes=2)


class PermanentMailError(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


# --- building messages -----------------------------------------------------------------

def backoff_seconds(attempt: int) -> int:
    """2, 4, 8, ... seconds, capped at five minutes."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))


# --- SMTP --------------------------------------------------------------------------------

def crlf(raw: bytes) -> bytes:
    """SMTP lines end in CRLF. `EmailMessage.as_bytes()` uses LF, and smtplib sends bytes as they
    are, so a receiver reading CRLF lines (aiosmtpd, strict MTAs) saw one line over 1,000 bytes
    and refused any message longer than that ("500 Line too long")."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def deliver(config: Config, raw: bytes, to: str) -> None:
    """Send one message. Raises PermanentMailError for a 5xx refusal, OSError/SMTPException otherwise."""
    url = urlsplit(config.smtp_url)
    implicit_tls = url.scheme == "smtps"
    host, port = url.hostname or "localhost", url.port or (465 if implicit_tls else 25)
    context = ssl.create_default_context()
    if not config.smtp_tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _, envelope_from = parseaddr(config.mail_from)
    try:
        if implicit_tls:
            smtp = smtplib.SMTP_SSL(host, port, timeout=config.smtp_timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=config.smtp_timeout)
        with smtp:
            smtp.ehlo()
            if not implicit_tls and (config.smtp_starttls == "true"
                                     or (config.smtp_starttls == "auto" and smtp.has_extn("starttls"))):
                smtp.starttls(context=context)
                smtp.ehlo()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.sendmail(envelope_from, [to], crlf(raw))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentMailError(f"recipient refused ({codes[0]})") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError):
            raise PermanentMailError(f"refused ({exc.smtp_code})") from exc
        raise


# --- tasks -------------------------------------------------------------------------------

def claim(tx: Tx, mail_id) -> dict | None:
    """queued -> sending, once: a concurrent claimer skips the locked row and finds nothing."""
    return tx.one(
        "with due as (select id from outbound_mail where id = %s and status = 'queued'"
        " and next_attempt_at <= now() + interval '1 second' for update skip locked)"
        " update outbound_mail m set status = 'sending', attempts = attempts + 1, claimed_at = now()"
        " from due where m.id = due.id returning m.*", [mail_id])


@celery_app.task(name=jobs.SEND_MAIL, bind=True, max_retries=MAX_ATTEMPTS, acks_late=True)
def send_mail(self, tenant_id: str, mail_id: str) -> str:
    tid, mid = parse_uuid(tenant_id), parse_uuid(mail_id)
    if tid is None or mid is None:
        return "bad ids"
    with tenant_scope(tid) as tx:
        row = claim(tx, mid)
    if row is None:
        return "not due"   # sent already, claimed by another worker, another tenant's id, or waiting
    config = current_app.config["TOWNHALL"]
    try:
        deliver(config, bytes(row["message"]), row["to_address"])
    except PermanentMailError as exc:
        _finish(tid, mid, "failed", str(exc))
        log.warning("mail %s refused permanently: %s", mid, exc)
        return "failed"
    except (OSError, smtplib.SMTPException) as exc:
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        if row["attempts"] >= MAX_ATTEMPTS:
            _finish(tid, mid, "failed", reason)
            return "failed"
        delay = backoff_seconds(row["attempts"])
        with tenant_scope(tid) as tx:
            tx.execute("update outbound_mail set status = 'queued', last_error = %s,"
                       " next_attempt_at = now() + make_interval(secs => %s) where id = %s and status = 'sending'",
                       [reason, delay, mid])
        log.info("mail %s not sent (%s); retrying in %ss", mid, exc.__class__.__name__, delay)
        raise self.retry(countdown=delay, exc=exc, max_retries=MAX_ATTEMPTS + 1)
    _finish(tid, mid, "sent", None)
    return "sent"


def _finish(tenant_id, mail_id, status: str, error: str | None) -> None:
    with tenant_scope(tenant_id) as tx:
        tx.execute("update outbound_mail set status = %s, last_error = %s,"
                   " sent_at = case when %s = 'sent' then now() end where id = %s and status = 'sending'",
                   [status, error, status, mail_id])


def tenants_with_due_work(kind: str, now: datetime, finder: str = "townhall_tenants_with_due_work") -> list:
    """Tenant ids with due work of `kind`, from a SECURITY DEFINER finder (no tenant in scope yet)."""
    with unscoped() as tx:
        return [r["tenant_id"] for r in
                tx.all(sql.SQL("select {}(%s, %s) as tenant_id").format(sql.Identifier(finder)), [kind, now])]


@celery_app.task(name="townhall.mail.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    """Re-enqueue mail whose task was lost, and mail stuck in `sending` by a killed worker."""
    at = moment(now)
    count = 0
    for tenant_id in tenants_with_due_work("mail", at - OVERDUE):
        with tenant_scope(tenant_id) as tx:
            tx.execute("update outbound_mail set status = 'queued' where status = 'sending' and claimed_at <= %s",
                       [at - STALE_SENDING])
            rows = tx.all("select id from outbound_mail where status = 'queued' and next_attempt_at <= %s"
                          " order by next_attempt_at limit 500 for update skip locked", [at - OVERDUE])
            tx.execute("update outbound_mail set next_attempt_at = now() where id = any(%s)",
                       [[r["id"] for r in rows]])
            for r in rows:
                tx.after_commit(lambda mid=r["id"], tid=tenant_id: enqueue_send(tid, mid))
        count += len(rows)
    return count

