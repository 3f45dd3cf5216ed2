"""Words the resident pages' scripts show, in the page's language (rendered into a JSON data block)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROOM_SCRIPT = {
    "state_scheduled": _l("Coming up"), "state_live": _l("Live now"), "state_closed": _l("Closed"),
    "status_pending": _l("waiting for a moderator"), "status_published": _l("published"),
    "status_rejected": _l("not published"), "status_hidden": _l("hidden by a moderator"),
    "status_escalated": _l("passed to the force"),
    "answered": _l("%(name)s answered a question."), "announcement": _l("Announcement: %(text)s"),
    "results": _l("Results (%(num)s votes):"), "vote": _l("Vote"), "voted": _l("Voted"),
    "vote_not_counted": _l("Vote not counted."), "vote_counted": _l("Thank you, your vote was counted."),
    "closed": _l("The chat has closed."), "now_live": _l("The chat is now live."),
    "new_question": _l("A new question was published."), "new_poll": _l("New poll: %(text)s"),
    "people_one": _l("1 person here"), "people_many": _l("%(num)s people here"),
    "connection_lost": _l("Connection lost. Reconnecting…"), "cannot_connect": _l("Cannot connect. Retrying…"),
    "your_question_is": _l("Your question is %(status)s."),
    "not_sent": _l("Your question was not sent. Please try again."),
    "many_updates": _l("%(num)s new updates. Latest: %(text)s"),
    "hide_captions": _l("Hide captions"), "show_captions": _l("Show captions"),
}


def room_script_strings() -> dict[str, str]:
    return {key: str(text) for key, text in ROOM_SCRIPT.items()}


# The platform's default signposting, translated; a tenant's own wording is shown as written.
DEFAULT_SIGNPOSTING = _l("This chat is not for reporting crime. To report a crime call 101 or report online. "
                         "In an emergency, when life is at risk or a crime is happening now, call 999.")
EMERGENCY_PREFIX = _l("If you or someone else is in danger now, call 999.")


def signposting(room: dict) -> str:
    from services.rooms.actions import DEFAULT_SIGNPOSTING as english

    text = room["signposting_text"]
    return str(DEFAULT_SIGNPOSTING) if text == english else text


# What a resident is shown at once when screening reads their message as a risk (services/screening).
SAFETY_GUIDANCE = {
    "emergency": _l("If you or someone else is in danger now, call 999. If you cannot speak, stay on the line and "
                    "press 55 when asked (from a mobile). Deaf, hard of hearing or speech-impaired: text 999 if you "
                    "have registered with emergencySMS, call 18000 with Relay UK, or use 999 BSL at 999bsl.co.uk. "
                    "This chat is not watched as an emergency service."),
    "safeguarding": _l("If anyone is in danger now, call 999. To tell the police about a worry for a child or "
                       "vulnerable adult, call 101 (Relay UK: 18001 101). If you are thinking about harming "
                       "yourself, Samaritans are free on 116 123 at any time; children and young people can call "
                       "Childline on 0800 1111. A moderator will read your message."),
    "report_crime": _l("To report a crime, call 101 (Relay UK: 18001 101) or report online on the force's website. "
                       "This public chat cannot take crime reports. If a crime is happening now or someone is in "
                       "danger, call 999."),
}
REPORT_ONLINE_AT = _l("To report a crime, call 101 (Relay UK: 18001 101) or report online at %(url)s. This public "
                      "chat cannot take crime reports. If a crime is happening now or someone is in danger, call 999.")


def safety_guidance(category: str, crime_reporting_url: str = "") -> str:
    """The guidance for a screening category, in the current locale (use force_locale)."""
    if category == "report_crime" and crime_reporting_url:
        return str(REPORT_ONLINE_AT % {"url": crime_reporting_url})
    return str(SAFETY_GUIDANCE[category])
