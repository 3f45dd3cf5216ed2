"""Screens what residents write before a moderator sees it.

Flags: `profanity` and personal data (`phone`, `email`, `address`, `vehicle`, `crime_ref`) from
the patterns here; the safety flags (`emergency`, `safeguarding`, `report_crime`) come from the
screening engine (safety.py). Flags guide the moderator; in an open-chat room a flagged message
is held for a moderator instead of published.
"""
from __future__ import annotations

import re

_PROFANITY = {
    "fuck", "fucking", "fucker", "shit", "shite", "cunt", "bastard", "bollocks", "wanker", "twat",
    "prick", "dickhead", "arsehole", "asshole", "bellend", "pillock", "slag", "whore", "motherfucker",
}
_WORD = re.compile(r"[a-z']+")
_PATTERNS = {
    "phone": re.compile(r"(?<!\d)(?:\+44\s?7\d{3}|\(?07\d{3}\)?|\(?0[1-9]\d{2,3}\)?)[\s-]?\d{3}[\s-]?\d{3,4}(?!\d)"),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # a house number near a full UK postcode, or a number + street word
    "address": re.compile(
        r"\b\d{1,4}[a-z]?\s+[a-z][a-z' -]{2,40}\b(?:road|rd|street|st|avenue|ave|lane|ln|close|drive|dr|way|"
        r"crescent|court|place|gardens|grove|terrace|hill|walk)\b"
        r"|\b\d{1,4}[a-z]?\b[^.\n]{0,60}\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b", re.I),
    "vehicle": re.compile(r"\b[a-z]{2}\d{2}\s?[a-z]{3}\b", re.I),
    "crime_ref": re.compile(r"\b(?:crime|incident|ref(?:erence)?)(?:\s+(?:ref(?:erence)?|no\.?|num(?:ber)?))*"
                           r"\s*[:#]?\s*[a-z]{0,3}\d[\d/-]{4,}\b", re.I),
}


def screen(text: str) -> list[str]:
    """The sorted list of flags for `text` (empty when nothing was found)."""
    flags = set()
    if any(word in _PROFANITY for word in _WORD.findall(text.lower())):
        flags.add("profanity")
    for name, pattern in _PATTERNS.items():
        if pattern.search(text):
            flags.add(name)
    return sorted(flags)


PERSONAL_DATA_FLAGS = frozenset({"phone", "email", "address", "vehicle", "crime_ref"})
SAFETY_FLAGS = frozenset({"emergency", "safeguarding", "report_crime"})
HOLD_FLAGS = PERSONAL_DATA_FLAGS | SAFETY_FLAGS | {"profanity"}


REDACTIONS = {"email": "[email address removed]", "phone": "[phone number removed]"}


def redact_contact_details(text: str) -> str:
    """A last safety net for published records (transcripts): email addresses and phone numbers
    that a moderator let through are replaced by a marker."""
    for name, marker in REDACTIONS.items():
        text = _PATTERNS[name].sub(marker, text)
    return text
