"""Every PDF the project makes (transcript, consultation report, invoice, poster): HTML rendered by
WeasyPrint as tagged PDF/UA, so screen readers can read it."""
from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy import: only in a process that makes a PDF

    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
