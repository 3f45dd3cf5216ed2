"""The embed: a room inside a force's own website (an iframe), where residents join and ask in place.

Framing is allowed only for the tenant's own origins (tenant settings `embed_domains`, e.g.
["https://www.example.police.uk"]) through the CSP `frame-ancestors` (services/web/security.py reads
`g.frame_ancestors`). The embed does not depend on cookies, which browsers withhold from
third-party frames: joining renders the page with the resident's signed live token, asking goes
over Socket.IO with that token, and the no-JavaScript ask form posts the same token (which is
also why these two posts need no CSRF cookie: the signed token is the proof).
"""
from __future__ import annotations

import re

from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from services.lib.i18n import reader_sentence
from services.web.extensions import csrf
from services.live import actions as live_actions
from services.live.schemas import AskSchema
from services.live.tokens import read_token
from services.residents import actions
from services.web.residents.blueprint import bp
from services.web.residents.views import join_from_form, room_page_context
from services.lib.tenant_settings import tenant_settings
from services.lib.validation import load
from tenants.db import tenant_scope
from tenants.errors import DomainError

ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?$")


def allowed_origins(settings: dict) -> list[str]:
    """The tenant's embedding origins, cleaned: anything that is not a plain origin is ignored."""
    origins = settings.get("embed_domains") or []
    cleaned = [o.strip().lower().rstrip("/") for o in origins if isinstance(o, str)]
    return [o for o in cleaned if ORIGIN.match(o)]


@bp.app_template_global("embed_snippet")
def snippet(room_id) -> str:
    """What a force pastes into its own page."""
    src = url_for("residents.embed", room_id=room_id, _external=True)
    return (f'<iframe src="{src}" title="Webchat" width="100%" height="720" loading="lazy" '
            f'style="border:0;max-width:60rem"></iframe>')


def _render(room_id, participant_id=None, **extra):
    g.frame_ancestors = " ".join(["'self'", *allowed_origins(tenant_settings())])
    if g.tenant.is_suspended:
        return render_template("residents/paused.html", layout="residents/_embed_layout.html"), 503
    context = room_page_context(room_id, participant_id)
    return render_template("residents/room.html", layout="residents/_embed_layout.html", embedded=True,
                           join_endpoint="residents.embed_join", ask_endpoint="residents.embed_ask",
                           **context, **extra)


@bp.get("/rooms/<room_id>/embed")
def embed(room_id):
    return _render(room_id)


@bp.post("/rooms/<room_id>/embed/join")
@csrf.exempt
def embed_join(room_id):
    try:
        participant = join_from_form(room_id)   # also remembered in the cookie, if the browser keeps it
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render(room_id, join_error=reader_sentence(exc))
    return _render(room_id, participant["id"])


@bp.post("/rooms/<room_id>/embed/ask")
@csrf.exempt
def embed_ask(room_id):
    identity = read_token(request.form.get("live_token"))
    participant_id = identity.subject_id if identity and identity.kind == "resident" \
        and identity.tenant_id == g.tenant.id and str(identity.room_id) == str(room_id) else None
    if participant_id is None:
        return _render(room_id, join_error=_("Join the chat with a display name before asking."))
    try:
        data = load(AskSchema, request.form)
        with tenant_scope(g.tenant.id) as tx:
            participant = actions.participant_in_room(tx, participant_id, identity.room_id)
            live_actions.submit_question(tx, participant, data["body"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render(room_id, participant_id, ask_message=reader_sentence(exc))
    return _render(room_id, participant_id, ask_message=_("Thank you. Your question is waiting for a moderator."))
