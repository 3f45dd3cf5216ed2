"""The mail seam: `send_email` sends one message synchronously over SMTP to `SMTP_URL`.

Everything that emails people (sign-up verification, staff invitations, password resets,
panelist links) calls this one function, after its transaction has committed. The workers
slice may later route it through a Celery task on the `mail` queue; callers do not change.

`SMTP_URL` forms: `smtp://host:port` (plain; STARTTLS when the server offers it and
credentials are given), `smtps://user:password@host:465` (TLS from the start).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app

from tenants.errors import Unavailable

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


def build_message(sender: str, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "townhall.local")
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def _connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT_SECONDS,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_SECONDS)
        client.ehlo()
        if parts.username and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def send_email(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one message now. Raises Unavailable (a clear message, never a 500) when SMTP fails."""
    config = current_app.config["TOWNHALL"]
    message = build_message(config.mail_from, to, subject, text, html)
    try:
        with _connect(config.smtp_url) as client:
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to %s failed: %s", to.rsplit("@", 1)[-1], exc.__class__.__name__)
        raise Unavailable("We could not send the email just now. Please try again in a few minutes.") from exc
