"""Template filters: times are stored in UTC and shown in Europe/London, in the page's language."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from markupsafe import Markup

LONDON = ZoneInfo("Europe/London")

# Named formats: (English strftime, CLDR pattern for other languages)
FORMATS = {
    "datetime": ("%A %-d %B %Y, %-I:%M%p", "EEEE d MMMM y, HH:mm"),
    "time": ("%-I:%M%p", "HH:mm"),
    "date": ("%A %-d %B %Y", "EEEE d MMMM y"),
}


def london(value: datetime | None, fmt: str = "datetime", lang: str | None = None) -> str:
    if value is None:
        return ""
    if lang is None:
        from services.lib.i18n import current_lang

        lang = current_lang()
    english, pattern = FORMATS.get(fmt, (fmt, None))
    if lang != "en" and pattern:
        return format_datetime(value, pattern, tzinfo=LONDON, locale=lang)
    text = value.astimezone(LONDON).strftime(english)
    text = text.replace("AM", "am").replace("PM", "pm")
    return text.lower() if fmt == "time" else text




def long_date(value) -> str:
    """A calendar date in the page's language, like "23 November 2026"."""
    from babel.dates import format_date

    from services.lib.i18n import current_lang

    return format_date(value, "d MMMM y", locale=current_lang())


def time_element(value: datetime, fmt: str = "datetime") -> Markup:
    """`<time datetime="...">` around the London time, as markup for a translated sentence."""
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), london(value, fmt))


def strong(text: str) -> Markup:
    """Text (escaped) in <strong>, as markup for a translated sentence."""
    return Markup("<strong>{}</strong>").format(text)


def init_app(app) -> None:
    app.add_template_filter(london, "london")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(time_element, "time_element")
    app.add_template_filter(strong, "strong")
