"""Console pages for engagement: settings (escalation contacts, rejection reasons), the list of
safeguarding escalations, themes and consultation reports, data-rights requests, neighbourhoods.
Thin: parse with marshmallow, call an action inside the tenant scope, render."""
from __future__ import annotations

import json

from flask import flash, g, redirect, render_template, request, url_for

from services.web.console.auth import current_staff, staff_required
from services.engagement import data_rights, escalations, neighbourhoods, settings as engagement_settings, themes
from services.reports import consultation as reports
from services.assist import schemas as assist_schemas, suggestions
from services.ops import jobs
from services.rooms.queries import get_room
from services.web.forms import attempt
from services.engagement.reasons import REJECTION_REASONS
from services.web.tenant_routes import tenant_blueprint
from services.lib.validation import load
from tenants.db import tenant_scope
from tenants.errors import NotFound
from tenants.roles import require

bp = tenant_blueprint("engagement_console", __name__, "/console")


def _settings_form() -> dict:
    form = request.form
    return {
        "escalation_email": form.get("escalation_email", ""),
        "escalation_webhook_url": form.get("escalation_webhook_url", ""),
        "escalation_share_network_hash": form.get("escalation_share_network_hash") == "on",
        "regenerate_secret": form.get("regenerate_secret") == "on",
        "crime_reporting_url": form.get("crime_reporting_url", ""),
        "signpost": form.get("signpost", ""),
        "disabled": [code for code in REJECTION_REASONS if form.get(f"enabled_{code}") != "on"],
        "texts": {code: form.get(f"text_{code}", "") for code in REJECTION_REASONS if f"text_{code}" in form},
    }


@bp.route("/settings/engagement", methods=["GET", "POST"])
@staff_required
def settings_page():
    require(current_staff().role, "settings.edit")
    errors: dict[str, str] = {}
    if request.method == "POST":
        def save():
            data = load(engagement_settings.EngagementSettingsSchema, _settings_form())
            with tenant_scope(g.tenant.id) as tx:
                return engagement_settings.update(tx, current_staff(), data)
        _, errors = attempt(save)
        if not errors:
            flash("Settings saved.", "success")
            return redirect(url_for(".settings_page"))
    with tenant_scope(g.tenant.id) as tx:
        current = engagement_settings.read(tx)
    return render_template("console/engagement_settings.html", settings=current, errors=errors,
                           reasons=REJECTION_REASONS), (400 if errors else 200)


@bp.get("/escalations")
@staff_required
def escalation_list():
    require(current_staff().role, "audit.read")
    with tenant_scope(g.tenant.id) as tx:
        rows = escalations.list_escalations(tx)
    return render_template("console/escalations.html", escalations=rows)


@bp.route("/themes", methods=["GET", "POST"])
@staff_required
def theme_list():
    errors: dict[str, str] = {}
    if request.method == "POST":
        def create():
            data = load(themes.ThemeSchema, request.form)
            with tenant_scope(g.tenant.id) as tx:
                return themes.create_theme(tx, current_staff(), data["name"], data["kind"])
        _, errors = attempt(create)
        if not errors:
            flash("Theme added.", "success")
            return redirect(url_for(".theme_list"))
    with tenant_scope(g.tenant.id) as tx:
        rows = themes.list_themes(tx)
    return render_template("console/themes.html", themes=rows, kinds=themes.KINDS, errors=errors,
                           form=request.form), (400 if errors else 200)


@bp.post("/themes/<theme_id>/archive")
@staff_required
def archive_theme(theme_id):
    with tenant_scope(g.tenant.id) as tx:
        themes.archive_theme(tx, current_staff(), theme_id)
    flash("Theme archived.", "success")
    return redirect(url_for(".theme_list"))


@bp.get("/reports/themes")
@bp.get("/reports/themes.<fmt>")
@staff_required
def theme_report(fmt: str = "html"):
    require(current_staff().role, "question.moderate")
    if fmt not in ("html", "csv", "pdf"):
        raise NotFound("We could not find that report.")
    chosen = request.args.getlist("room")
    with tenant_scope(g.tenant.id) as tx:
        report = reports.build(tx, chosen)
        all_rooms = tx.all("select id, title, state from rooms where state in ('live', 'closed', 'archived')"
                           " order by starts_at desc")
    if fmt == "csv":
        return reports.to_csv(report), 200, {"Content-Type": "text/csv; charset=utf-8",
                                             "Content-Disposition": 'attachment; filename="consultation-report.csv"'}
    if fmt == "pdf":
        document = render_template("console/theme_report_pdf.html", report=report, kinds=themes.KINDS)
        return reports.to_pdf(document), 200, {"Content-Type": "application/pdf",
                                               "Content-Disposition": 'attachment; filename="consultation-report.pdf"'}
    return render_template("console/theme_report.html", report=report, kinds=themes.KINDS, all_rooms=all_rooms,
                           chosen=set(chosen))


@bp.get("/rooms/<room_id>/theme-suggestions")
@staff_required
def theme_suggestions(room_id, errors=None):
    require(current_staff().role, "question.moderate")
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        rows = suggestions.list_suggestions(tx, room["id"])
        decided = tx.value("select count(*) from theme_suggestions where room_id = %s and state <> 'suggested'",
                           [room["id"]])
    return render_template("console/theme_suggestions.html", room=room, suggestions=rows, decided=decided,
                           errors=errors or {}), (400 if errors else 200)


@bp.post("/rooms/<room_id>/theme-suggestions/run")
@staff_required
def run_theme_suggestions(room_id):
    require(current_staff().role, "question.moderate")
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        if room["state"] not in ("closed", "archived"):
            flash("Themes are suggested once the chat has closed.", "error")
            return redirect(url_for(".theme_suggestions", room_id=room["id"]))
        tenant_id, rid = str(g.tenant.id), str(room["id"])
        tx.after_commit(lambda: jobs.enqueue(jobs.SUGGEST_THEMES, tenant_id, rid))
    flash("Reading the questions: reload this page in a minute to see the suggestions.", "success")
    return redirect(url_for(".theme_suggestions", room_id=room["id"]))


@bp.post("/rooms/<room_id>/theme-suggestions")
@staff_required
def decide_theme_suggestions(room_id):
    def decide():
        data = load(assist_schemas.DecideSchema, {"decision": request.form.get("decision", ""),
                                                  "suggestion_ids": request.form.getlist("suggestion_ids")})
        with tenant_scope(g.tenant.id) as tx:
            room = get_room(tx, room_id)
            return suggestions.decide(tx, current_staff(), room["id"], data["suggestion_ids"],
                                      data["decision"] == "accept")
    count, errors = attempt(decide)
    if errors:
        return theme_suggestions(room_id, errors)
    flash(f"{count} suggestion{'' if count == 1 else 's'} {'accepted' if request.form.get('decision') == 'accept' else 'rejected'}.",
          "success")
    return redirect(url_for(".theme_suggestions", room_id=room_id))


@bp.get("/data-requests")
@staff_required
def data_requests():
    require(current_staff().role, "audit.read")
    with tenant_scope(g.tenant.id) as tx:
        rows = data_rights.list_requests(tx)
        today = tx.value("select now()")
    return render_template("console/data_requests.html", requests=rows, now=today)


@bp.get("/data-requests/<request_id>/export.json")
@staff_required
def data_request_export(request_id):
    with tenant_scope(g.tenant.id) as tx:
        row, export = data_rights.export_for_staff(tx, current_staff(), request_id)
    return json.dumps(export, indent=2, ensure_ascii=False), 200, {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": f'attachment; filename="data-request-{row["id"]}.json"'}


@bp.post("/data-requests/<request_id>/complete")
@staff_required
def complete_data_request(request_id):
    _, errors = attempt(lambda: _complete(request_id))
    flash(errors.get("form") or next(iter(errors.values())) if errors else "Request completed.",
          "error" if errors else "success")
    return redirect(url_for(".data_requests"))


def _complete(request_id):
    with tenant_scope(g.tenant.id) as tx:
        return data_rights.complete(tx, current_staff(), request_id)


@bp.route("/neighbourhoods", methods=["GET", "POST"])
@staff_required
def neighbourhood_list():
    errors: dict[str, str] = {}
    if request.method == "POST":
        def create():
            data = load(neighbourhoods.NeighbourhoodSchema, request.form)
            with tenant_scope(g.tenant.id) as tx:
                return neighbourhoods.create_neighbourhood(tx, current_staff(), data["name"])
        _, errors = attempt(create)
        if not errors:
            flash("Neighbourhood added.", "success")
            return redirect(url_for(".neighbourhood_list"))
    with tenant_scope(g.tenant.id) as tx:
        hoods = neighbourhoods.list_neighbourhoods(tx)
        rooms = tx.all("select id, title, state, starts_at from rooms where state <> 'archived' order by starts_at desc")
    return render_template("console/neighbourhoods.html", neighbourhoods=hoods, rooms=rooms, errors=errors,
                           form=request.form), (400 if errors else 200)


@bp.post("/neighbourhoods/<neighbourhood_id>/rooms")
@staff_required
def neighbourhood_rooms(neighbourhood_id):
    def change():
        data = load(neighbourhoods.TargetSchema, request.form)
        with tenant_scope(g.tenant.id) as tx:
            neighbourhoods.target(tx, current_staff(), neighbourhood_id, data["room_id"],
                                  on=request.form.get("action") != "remove")
    _, errors = attempt(change)
    flash(next(iter(errors.values())) if errors else "Saved.", "error" if errors else "success")
    return redirect(url_for(".neighbourhood_list"))
