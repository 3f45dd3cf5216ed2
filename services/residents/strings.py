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
