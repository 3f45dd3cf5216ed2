"""Settings (admins): branding with a server-rendered preview, the logo, chat defaults, retention
and languages, the websites allowed to embed the chats; and the audit log viewer with filters and
a CSV export."""
from __future__ import annotations

import io
import json

from flask import Response, flash, g, redirect, render_template, request, url_for

from tenants import csv_safe
from services.web.branding.views import brand_css, css_response
from services.web.console.auth import current_staff, staff_required
from services.web.console.schemas import (AuditFilterSchema, BrandingSchema, DefaultsSchema, EmbedSchema, SsoSchema,
                                      london_day_bounds)
from services.web.console.blueprint import bp
from services.web.forms import attempt, submit
from services.lib.validation import load
from tenants import branding, sso
from tenants.db import tenant_scope
from tenants.roles import require

AUDIT_PAGE = 100
CSV_MAX_ROWS = 50_000


def _settings_page(errors=None, form=None, preview=None, status=200):
    require(current_staff().role, "settings.edit")
    with tenant_scope(g.tenant.id) as tx:
        settings = branding.tenant_settings(tx)
    colours = preview or settings["brand"]
    ratios = {"primary": branding.shown_ratio(branding.contrast(colours["primary"], branding.TEXT_ON_PRIMARY)),
              "accent": branding.shown_ratio(branding.contrast(colours["accent"], branding.TEXT_ON_ACCENT))}
    return render_template("console/settings.html", settings=settings, errors=errors or {}, form=form,
                           preview=preview, ratios=ratios, sso_redirect=url_for(".sso_callback", _external=True),
                           footer_text="\n".join(f"{link['label']} | {link['url']}" for link in settings["footer_links"]),
                           preview_css=url_for(".settings_preview_css", primary=colours["primary"],
                                               accent=colours["accent"])), status


def _with_lists(names=()) -> dict:
    return request.form.to_dict() | {n: request.form.getlist(n) for n in names}


@bp.get("/settings")
@staff_required
def settings():
    return _settings_page()


@bp.post("/settings/branding")
@staff_required
def settings_branding():
    require(current_staff().role, "settings.edit")
    previewing = request.form.get("intent") == "preview"

    def save():
        data = load(BrandingSchema, request.form)
        if previewing:
            return branding.check_colours({"primary": data["primary"], "accent": data["accent"]})
        with tenant_scope(g.tenant.id) as tx:
            return branding.update_branding(tx, current_staff(), data)
    result, errors = attempt(save)
    if errors:
        return _settings_page(errors, {"branding": request.form}, status=400)
    if previewing:
        return _settings_page(form={"branding": request.form}, preview=result)
    flash("Branding saved. Residents see it on their next page.", "success")
    return redirect(url_for(".settings"))


@bp.get("/settings/preview.css")
@staff_required
def settings_preview_css():
    """The preview panel's colours (only ever checked hex values) without saving them."""
    return css_response(brand_css(request.args.get("primary", ""), request.args.get("accent", ""),
                                  selector=".brand-preview"), immutable=False)


@bp.post("/settings/logo")
@staff_required
def settings_logo():
    def upload():
        file = request.files.get("logo")
        data = file.stream.read(branding.MAX_LOGO_BYTES + 1) if file else b""
        with tenant_scope(g.tenant.id) as tx:
            if request.form.get("intent") == "remove":
                return branding.remove_logo(tx, current_staff())
            return branding.set_logo(tx, current_staff(), data)
    _, errors = attempt(upload)
    if errors:
        return _settings_page(errors, status=400)
    flash("Logo removed." if request.form.get("intent") == "remove" else "Logo uploaded.", "success")
    return redirect(url_for(".settings"))


@bp.post("/settings/defaults")
@staff_required
def settings_defaults():
    _, errors = submit(DefaultsSchema, _with_lists(("languages",)),
                       lambda tx, data: branding.update_defaults(tx, current_staff(), data))
    if errors:
        return _settings_page(errors, {"defaults": _with_lists(("languages",))}, status=400)
    flash("Settings saved.", "success")
    return redirect(url_for(".settings"))


@bp.post("/settings/embed")
@staff_required
def settings_embed():
    require(current_staff().role, "settings.edit")
    _, errors = submit(EmbedSchema, request.form,
                       lambda tx, data: branding.update_embed_domains(tx, current_staff(), data))
    if errors:
        return _settings_page(errors, {"embed": request.form}, status=400)
    flash("Embedding websites saved. Only these websites can show your chats.", "success")
    return redirect(url_for(".settings"))


@bp.post("/settings/sso")
@staff_required
def settings_sso():
    _, errors = submit(SsoSchema, request.form, lambda tx, data: sso.update_settings(tx, current_staff(), data))
    if errors:
        return _settings_page(errors, {"sso": request.form}, status=400)
    flash("Single sign-on settings saved.", "success")
    return redirect(url_for(".settings"))


# --- the audit log --------------------------------------------------------------------------

def _audit_rows(filters: dict, limit: int, offset: int = 0) -> list[dict]:
    lower, upper = london_day_bounds(filters["date_from"], filters["date_to"])
    with tenant_scope(g.tenant.id) as tx:
        return tx.all(
            "select at, actor_kind, actor_label, action, target_kind, target_id, details, host(ip) as ip"
            " from audit_log where (%(actor)s = '' or actor_label ilike %(actor_like)s)"
            " and (%(action)s = '' or action = %(action)s)"
            " and (%(lower)s::timestamptz is null or at >= %(lower)s)"
            " and (%(upper)s::timestamptz is null or at < %(upper)s)"
            " order by at desc, id desc limit %(limit)s offset %(offset)s",
            {**filters, "actor_like": "%" + filters["actor"].replace("\\", "\\\\").replace("%", "\\%")
             .replace("_", "\\_") + "%", "lower": lower, "upper": upper, "limit": limit, "offset": offset})


@bp.get("/audit")
@staff_required
def audit_log():
    require(current_staff().role, "audit.read")
    filters, errors = attempt(lambda: load(AuditFilterSchema, request.args))
    rows = []
    if not errors:
        rows = _audit_rows(filters, AUDIT_PAGE + 1, (filters["page"] - 1) * AUDIT_PAGE)
    with tenant_scope(g.tenant.id) as tx:
        actions = [r["action"] for r in tx.all("select distinct action from audit_log order by action")]
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("console/audit.html", rows=rows[:AUDIT_PAGE], more=len(rows) > AUDIT_PAGE,
                           action_options=[("", "Any action")] + [(a, a) for a in actions],
                           filters=filters or {"page": 1}, errors=errors, form=request.args, actions=actions,
                           query=query), (400 if errors else 200)


@bp.get("/audit.csv")
@staff_required
def audit_csv():
    require(current_staff().role, "audit.read")
    filters = load(AuditFilterSchema, request.args)
    rows = _audit_rows(filters, CSV_MAX_ROWS)
    out = io.StringIO()
    writer = csv_safe.writer(out)   # names and details are typed by people
    writer.writerow(["when (UTC)", "actor kind", "actor", "action", "target kind", "target", "details", "from"])
    for r in rows:
        writer.writerow([r["at"].isoformat(), r["actor_kind"], r["actor_label"], r["action"], r["target_kind"],
                         r["target_id"], json.dumps(r["details"] or {}, ensure_ascii=False), r["ip"]])
    name = f"audit-{g.tenant.slug}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
