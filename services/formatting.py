"""Template filters: times are stored in UTC and shown in Europe/London."""
from __future__ import annotations

from datetime import datetime

from services.rooms.schemas import LONDON


def london(value: datetime | None, fmt: str = "%A %-d %B %Y, %-I:%M%p") -> str:
    if value is None:
        return ""
    text = value.astimezone(LONDON).strftime(fmt)
    return text.replace("AM", "am").replace("PM", "pm")


def init_app(app) -> None:
    app.add_template_filter(london, "london")
