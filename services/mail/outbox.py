"""Outgoing mail, composed: every message is a row in `outbound_mail` first, then an SMTP send on
the `mail` queue (workers/mail.py).

`queue_mail(tx, ...)` renders nothing itself: it stores a complete RFC 5322 message (built by
`build_message`) in the caller's transaction and enqueues the send after commit. One row per
`ref` (what caused the message), so queuing the same thing twice sends it once. `render` turns a
template pair into a subject, text and HTML in the reader's language.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale

from services.ops import jobs
from services.ops.config import Config
from tenants.db import Tx

DEFAULT_BRAND = "#1d4f91"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str   # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def brand_colour(settings: dict | None) -> str:
    value = (settings or {}).get("brand_colour") or ""
    return value if _HEX.match(value) else DEFAULT_BRAND


def render(template: str, lang: str = "en", **context) -> Rendered:
    """`mail/<template>.txt` (first line `Subject: ...`, then the plain text) and `mail/<template>.html`,
    in `lang` (`force_locale`, so the templates' gettext and Babel dates follow the reader, not
    the request or worker that sends it).

    Every string lives in the templates (wrapped for Flask-Babel), so a translation swaps
    catalogues, not code. Compute language-dependent values (dates, words) inside `in_language`.
    """
    with force_locale(lang):
        text = render_template(f"mail/{template}.txt", lang=lang, **context)
        html = render_template(f"mail/{template}.html", lang=lang, **context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"mail/{template}.txt must start with a 'Subject: ' line")
    return Rendered(subject=first[len("Subject: "):].strip(), text=body.lstrip("\n"), html=html)


def build_message(config: Config, *, message_id: str, sender_name: str, to: str, rendered: Rendered,
                  date: datetime, headers: dict[str, str] | None = None,
                  attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    _, from_address = parseaddr(config.mail_from)
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = formataddr((sender_name, from_address)) if sender_name else config.mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(date.astimezone(timezone.utc))
    msg["Message-ID"] = f"<{message_id}@{from_address.rpartition('@')[2] or 'townhall.local'}>"
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    for item in attachments:
        maintype, _, rest = item.content_type.partition("/")
        subtype, _, params = rest.partition(";")
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype.strip(), filename=item.filename)
        if params.strip():
            part = msg.get_payload()[-1]
            key, _, value = params.strip().partition("=")
            part.set_param(key.strip(), value.strip())
    return msg


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends (smtplib sends bytes as they are)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def queue_mail(tx: Tx, *, ref: str, kind: str, to: str, rendered: Rendered, sender_name: str = "",
               headers: dict[str, str] | None = None, attachments: tuple[Attachment, ...] = (),
               date: datetime | None = None) -> uuid.UUID | None:
    """Store one message in the caller's transaction; send it after commit. Returns None when
    a message for `ref` already exists (so the caller's retry never sends twice)."""
    config = current_app.config["TOWNHALL"]
    mail_id = uuid.uuid4()
    message = build_message(config, message_id=str(mail_id), sender_name=sender_name, to=to, rendered=rendered,
                            date=date or datetime.now(timezone.utc), headers=headers, attachments=attachments)
    row = tx.one("insert into outbound_mail (id, tenant_id, ref, kind, to_address, subject, message)"
                 " values (%s, %s, %s, %s, %s, %s, %s) on conflict (tenant_id, ref) do nothing returning id",
                 [mail_id, tx.tenant_id, ref, kind, to, rendered.subject, wire_bytes(message)])
    if row is None:
        return None
    tenant_id = tx.tenant_id
    tx.after_commit(lambda: enqueue_send(tenant_id, mail_id))
    return mail_id


def enqueue_send(tenant_id, mail_id) -> None:
    """After commit: hand the row to the mail queue (if Redis is down, `sweep` finds it)."""
    jobs.enqueue(jobs.SEND_MAIL, str(tenant_id), str(mail_id), queue="mail")
