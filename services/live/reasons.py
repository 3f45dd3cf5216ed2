"""Rejection reasons, following Police and Crime Panel question rules. The resident sees the text."""
from __future__ import annotations

REJECTION_REASONS: dict[str, tuple[str, str]] = {
    "operational": ("Operational matter for the force",
                    "Your question is about an operational policing matter, which is for the Chief Constable. "
                    "You can contact the force on 101 or online."),
    "individual_case": ("Individual case",
                        "We cannot discuss individual cases in a public chat. Please contact the force or the "
                        "Commissioner's office directly so it can be handled privately."),
    "defamatory": ("Defamatory", "Your question could not be published because it may be defamatory."),
    "offensive": ("Offensive", "Your question could not be published because it contains offensive language."),
    "duplicate": ("Duplicate", "A similar question has already been asked. Watch for its answer in the chat."),
    "off_topic": ("Off topic", "Your question is not about the subject of this chat."),
    "personal_data": ("Personal data",
                      "Your question contained personal details (such as a phone number, address or vehicle "
                      "registration), so it was not published, to protect you and others."),
    "other_body": ("Better answered by another body",
                   "This is a matter for another organisation, such as your local council. "
                   "They are best placed to help."),
}


def reason_text(code: str) -> str:
    return REJECTION_REASONS[code][1]
