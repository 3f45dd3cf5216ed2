"""What a response says, whatever its format: the text of a PDF's pages, every file in a ZIP, or
the body itself; so a check for a leaked or unescaped string also looks inside downloads."""
from __future__ import annotations

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
