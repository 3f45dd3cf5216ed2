"""The tenant's accessibility statement (regulation 7 of the Public Sector Bodies (Websites and Mobile
Applications) (No. 2) Accessibility Regulations 2018), in the format of the GOV.UK model statement.

What the platform guarantees (and tests: tests/browser/test_accessibility.py) is written here;
what only the tenant knows (contact details, dates of its own review) comes from tenant settings
`accessibility` = {"contact_email", "contact_phone", "response_days", "prepared_on", "reviewed_on"}.
"""
from __future__ import annotations

from datetime import date

# When the platform's own checks (axe-core at WCAG 2.2 AA on every page type, keyboard-only and
# 200% text tests in Chromium) were last run and this statement's platform part was reviewed.
PLATFORM_TESTED_ON = date(2026, 11, 23)


def _date(value, default: date) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else default
    except ValueError:
        return default


def statement(settings: dict, contact_email: str | None) -> dict:
    own = settings.get("accessibility") if isinstance(settings.get("accessibility"), dict) else {}
    days = own.get("response_days")
    return {
        "contact_email": own.get("contact_email") or contact_email or "",
        "contact_phone": own.get("contact_phone") or "",
        "response_days": days if isinstance(days, int) and 0 < days <= 60 else 5,
        "prepared_on": _date(own.get("prepared_on"), PLATFORM_TESTED_ON),
        "reviewed_on": _date(own.get("reviewed_on"), PLATFORM_TESTED_ON),
        "tested_on": PLATFORM_TESTED_ON,
    }
