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
