"""What a response or a message says, whatever its format: the text of a PDF's pages, every file
in a ZIP, the parts of an email, or the body itself; so a check for a leaked or unescaped string
also looks inside downloads and mail."""
from __future__ import annotations

import email
import email.policy
import io
import zipfile

import pypdfium2


def pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in pdf)


def zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(readable(archive.read(name)) for name in archive.namelist())


def readable(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return pdf_text(data)
    if data.startswith(b"PK\x03\x04"):
        return zip_text(data)
    return data.decode("utf-8", errors="replace")


def mail_parts(raw: bytes) -> dict[str, str]:
    """The text of a queued RFC 5322 message by type: {"text/html": ..., "text/plain": ...}."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if part.get_content_type() in ("text/html", "text/plain") and not part.is_attachment()}
