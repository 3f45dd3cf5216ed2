"""Residents' display names: no account, a default like "Resident 4821", and no imitation of staff."""
from __future__ import annotations

import re
import secrets
import unicodedata

from flask_babel import gettext as _, lazy_gettext as _l

from tenants.errors import ValidationFailed

RESERVED_WORDS = {
    "pc", "pcso", "dc", "ds", "di", "dci", "dsu", "sgt", "sergeant", "inspector", "insp", "constable", "officer",
    "superintendent", "supt", "chief", "commissioner", "pcc", "police", "detective", "moderator", "mod", "host",
    "admin", "administrator", "staff", "townhall", "official", "opcc", "panelist", "panellist", "verified",
}
_WORD = re.compile(r"[a-z]+")
IMPERSONATION_MESSAGE = _l("Names that look like police officers or staff (such as 'PC Smith' or 'Inspector') are "
                           "kept for verified staff. Please choose another name.")


def default_name() -> str:
    return f"Resident {secrets.randbelow(9000) + 1000}"  # stored and shown to all: one language


def _fold(text: str) -> str:
    """Lower-case and strip accents and look-alike tricks (e.g. 'Ｐ.Ｃ.' → 'p c')."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _words(text: str) -> list[str]:
    """Words, with runs of single letters joined ('p.c.c.' and 'p c c' both give 'pcc')."""
    words: list[str] = []
    run = ""
    for word in _WORD.findall(text):
        if len(word) == 1:
            run += word
            continue
        if run:
            words.append(run)
            run = ""
        words.append(word)
    return words + ([run] if run else [])


def clean_display_name(raw: str | None, staff_names: list[str]) -> str:
    name = " ".join((raw or "").split())
    if not name:
        return default_name()
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValidationFailed(_("Use letters, numbers and spaces only."), field="display_name")
    if not 2 <= len(name) <= 40:
        raise ValidationFailed(_("Choose a name between 2 and 40 characters."), field="display_name")
    words = _words(_fold(name).replace("0", "o").replace("1", "i"))
    if RESERVED_WORDS & set(words) or _fold(name) in {_fold(s) for s in staff_names}:
        raise ValidationFailed(str(IMPERSONATION_MESSAGE), field="display_name")
    return name
