"""Rejection reasons, following Police and Crime Panel question rules. The resident sees the text."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

REJECTION_REASONS: dict[str, tuple[str, str]] = {
    "operational": (_l("Operational matter for the force"),
                    _l("Your question is about an operational policing matter, which is for the Chief Constable. "
                    "You can contact the force on 101 or online.")),
    "individual_case": (_l("Individual case"),
                        _l("We cannot discuss individual cases in a public chat. Please contact the force or the "
                        "Commissioner's office directly so it can be handled privately.")),
    "defamatory": (_l("Defamatory"), _l("Your question could not be published because it may be defamatory.")),
    "offensive": (_l("Offensive"), _l("Your question could not be published because it contains offensive language.")),
    "duplicate": (_l("Duplicate"), _l("A similar question has already been asked. Watch for its answer in the chat.")),
    "off_topic": (_l("Off topic"), _l("Your question is not about the subject of this chat.")),
    "personal_data": (_l("Personal data"),
                      _l("Your question contained personal details (such as a phone number, address or vehicle "
                      "registration), so it was not published, to protect you and others.")),
    "other_body": (_l("Better answered by another body"),
                   _l("This is a matter for another organisation, such as your local council. "
                   "They are best placed to help.")),
}


def reason_text(code: str) -> str:
    return str(REJECTION_REASONS[code][1])


def tenant_reasons(settings: dict | None) -> dict[str, tuple[str, str]]:
    """The codes this tenant's moderators may use, with the text the resident is shown: the
    built-in list less the codes the tenant turned off, with its own wording where it gave one
    (tenant settings `rejection_reasons`), and its signpost after "better answered by another body"."""
    conf = (settings or {}).get("rejection_reasons") or {}
    disabled = set(conf.get("disabled") or [])
    texts = conf.get("texts") or {}
    signpost = (conf.get("signpost") or "").strip()
    reasons: dict[str, tuple[str, str]] = {}
    for code, (label, text) in REJECTION_REASONS.items():
        if code in disabled:
            continue
        shown = texts.get(code) or str(text)
        if code == "other_body" and signpost:
            shown = f"{shown} {signpost}"
        reasons[code] = (label, shown)
    return reasons


def tenant_reason_text(settings: dict | None, code: str) -> str:
    """What the resident is told for `code` (also for a code turned off since it was used)."""
    conf = (settings or {}).get("rejection_reasons") or {}
    signpost = (conf.get("signpost") or "").strip()
    shown = (conf.get("texts") or {}).get(code) or reason_text(code)
    return f"{shown} {signpost}" if code == "other_body" and signpost else shown
