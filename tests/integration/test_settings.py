"""Branding, settings and the audit log through the console; branding reaches resident pages."""
from __future__ import annotations

import csv
import io
import re

from PIL import Image

from tenants import audit
from tenants.db import tenant_scope
from tests.support.console import admin_client, console, field_error, sign_in

GOOD = {"organisation": "Office of the PCC for Brandshire", "primary": "#0b4f6c", "accent": "#ffd166",
        "welcome_text": "Ask us anything.\n\nWe answer live.", "privacy_url": "https://www.example.police.uk/privacy",
        "footer_links": "Contact us | https://www.example.police.uk/contact\nAccessibility | https://www.example.police.uk/a11y",
        "signposting_text": "Not for reporting crime: call 101, or 999 in an emergency."}


def _png(colour=(11, 79, 108)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 100), colour).save(out, "PNG")
    return out.getvalue()


def test_failing_colours_are_refused_with_the_ratio_and_nothing_is_saved(app, make_tenant, make_staff):
    tenant = make_tenant()
    client, _ = admin_client(app, tenant, make_staff(tenant, "admin"))
    response = client.post(console(tenant, "settings/branding"), data={**GOOD, "primary": "#7fb2e5", "intent": "save"})
    assert response.status_code == 400
    message = field_error(response.text, "primary")
    assert "#7fb2e5 with white text has a contrast ratio of 2.2" in message and "Try #" in message
    assert 'href="#primary"' in response.text                    # in the error summary too
    assert 'value="#7fb2e5"' in response.text                     # what they typed is kept
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select settings->'brand' from tenants") is None
        assert tx.value("select name from tenants") == tenant.name


def test_branding_is_previewed_saved_and_applied_to_resident_pages(app, make_tenant, make_staff):
    tenant = make_tenant()
    client, _ = admin_client(app, tenant, make_staff(tenant, "admin"))
    preview = client.post(console(tenant, "settings/branding"), data={**GOOD, "intent": "preview"})
    assert preview.status_code == 200 and "Preview (not saved yet)" in preview.text
    css_url = re.search(r'<link rel="stylesheet" href="([^"]*preview\.css[^"]*)"', preview.text).group(1)
    assert "--brand-primary: #0b4f6c" in client.get(css_url.replace("&amp;", "&")).text
    assert client.get(f"/t/{tenant.slug}/brand.css").text.count("#1d3b6f") == 1     # not saved by a preview

    assert client.post(console(tenant, "settings/branding"), data={**GOOD, "intent": "save"}).status_code == 302
    upload = client.post(console(tenant, "settings/logo"), content_type="multipart/form-data",
                         data={"logo": (io.BytesIO(_png()), "logo.png"), "intent": "upload"})
    assert upload.status_code == 302

    resident = app.test_client()
    home = resident.get(f"/t/{tenant.slug}/")
    assert "Office of the PCC for Brandshire" in home.text and "<p>We answer live.</p>" in home.text
    assert '<a href="https://www.example.police.uk/privacy">Privacy notice</a>' in home.text
    assert '<a href="https://www.example.police.uk/a11y">Accessibility</a>' in home.text
    css_href = re.search(r'href="(/t/[^"]+/brand\.css\?v=\d+)"', home.text).group(1)
    css = resident.get(css_href)
    assert css.mimetype == "text/css" and "--brand-primary: #0b4f6c; --brand-accent: #ffd166;" in css.text
    assert "immutable" in css.headers["Cache-Control"] and "max-age=31536000" in css.headers["Cache-Control"]
    assert resident.get(css_href, headers={"If-None-Match": css.headers["ETag"]}).status_code == 304
    logo_src = re.search(r'<img class="brand-logo" src="([^"]+)"', home.text).group(1)
    logo = resident.get(logo_src)
    assert logo.mimetype == "image/png" and Image.open(io.BytesIO(logo.data)).size == (400, 100)
    with tenant_scope(tenant.id) as tx:
        actions = [r["action"] for r in tx.all("select action from audit_log where action like 'settings.%' order by id")]
    assert actions == ["settings.branding_updated", "settings.logo_uploaded"]

    bad = client.post(console(tenant, "settings/logo"), content_type="multipart/form-data",
                      data={"logo": (io.BytesIO(b"GIF89a" + b"\0" * 50), "anim.gif"), "intent": "upload"})
    assert bad.status_code == 400 and "PNG or JPEG" in field_error(bad.text, "logo")
    big = client.post(console(tenant, "settings/logo"), content_type="multipart/form-data",
                      data={"logo": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (1100 * 1024)), "big.png")})
    assert big.status_code == 400 and "1 MB or smaller" in field_error(big.text, "logo")


def test_defaults_retention_and_languages_are_validated_and_used_for_new_chats(app, make_tenant, make_staff):
    tenant = make_tenant()
    client, _ = admin_client(app, tenant, make_staff(tenant, "admin"))
    bad = client.post(console(tenant, "settings/defaults"),
                      data={"mode": "open", "votes_enabled": "off", "slow_mode_seconds": "x", "retention_days": "5"})
    assert bad.status_code == 400
    assert "30 to 3650 days" in field_error(bad.text, "retention_days")
    assert "whole number of seconds" in field_error(bad.text, "slow_mode_seconds")
    assert "at least one language" in field_error(bad.text, "languages")
    ok = client.post(console(tenant, "settings/defaults"),
                     data={"mode": "open", "votes_enabled": "off", "slow_mode_seconds": "90", "retention_days": "180",
                           "languages": ["en", "cy"]})
    assert ok.status_code == 302
    with tenant_scope(tenant.id) as tx:
        settings = tx.value("select settings from tenants")
    assert settings["retention_days"] == 180 and settings["languages"] == ["en", "cy"]
    new_room = client.get(console(tenant, "rooms/new")).text
    assert re.search(r'value="open" checked', new_room) and 'value="90"' in new_room
    assert not re.search(r'id="votes_enabled" name="votes_enabled" value="on" checked', new_room)


def test_only_admins_reach_settings_and_the_audit_log(app, make_tenant, make_staff):
    tenant = make_tenant()
    for role in ("host", "moderator"):
        person = make_staff(tenant, role)
        client = app.test_client()
        assert sign_in(client, tenant, person.email).status_code == 302
        for path in ("settings", "audit", "audit.csv", "staff"):
            assert client.get(console(tenant, path)).status_code == 403, (role, path)
        assert client.post(console(tenant, "settings/branding"), data={**GOOD, "intent": "save"}).status_code == 403
        assert client.post(console(tenant, "settings/embed"),
                           data={"embed_domains": "https://evil.example.org"}).status_code == 403, role
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select name from tenants") == tenant.name
        assert tx.value("select settings->'embed_domains' from tenants") is None
        assert tx.value("select count(*) from audit_log where action like 'settings.%'") == 0


def test_audit_log_filters_and_csv_export_guard_against_formulas(app, make_tenant, make_staff):
    tenant = make_tenant()
    admin = make_staff(tenant, "admin", display_name="Ada Admin")
    client, _ = admin_client(app, tenant, admin)
    with tenant_scope(tenant.id) as tx:
        audit.record(tx, actor_kind="resident", actor_label='=HYPERLINK("http://evil.example","x")',
                     action="resident.joined", details={"note": "+1"})
        audit.record(tx, actor_kind="system", actor_label="@SUM(A1)", action="-danger", target_id="-1")
        tx.execute("insert into audit_log (tenant_id, at, actor_kind, action) values (%s, '2020-01-02 12:00Z',"
                   " 'system', 'old.thing')", [tenant.id])
    def table(**query) -> str:
        page = client.get(console(tenant, "audit"), query_string=query)
        assert page.status_code == 200
        return page.text.split("<tbody>")[1].split("</tbody>")[0]
    by_actor = table(actor="ada")
    assert "staff.signed_in" in by_actor and "resident.joined" not in by_actor
    by_action = table(action="resident.joined")
    assert "HYPERLINK" in by_action and "staff.signed_in" not in by_action
    dated = table(date_from="2020-01-01", date_to="2020-01-02")
    assert "old.thing" in dated and "staff.signed_in" not in dated
    assert "old.thing" not in table(date_from="2020-01-03")
    wrong = client.get(console(tenant, "audit"), query_string={"date_from": "2020-02-01", "date_to": "2020-01-01"})
    assert wrong.status_code == 400 and "on or after the start date" in field_error(wrong.text, "date_to")
    assert client.get(console(tenant, "audit"), query_string={"date_from": "yesterday"}).status_code == 400

    export = client.get(console(tenant, "audit.csv"))
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    cells = [c for row in rows[1:] for c in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells and "'@SUM(A1)" in cells
    assert "'-danger" in cells and "'-1" in cells
    assert not any(c[:1] in "=+-@" for c in cells if c)
    only_old = client.get(console(tenant, "audit.csv"), query_string={"action": "old.thing"})
    assert len(list(csv.reader(io.StringIO(only_old.text)))) == 2


def _frame_ancestors(client, tenant, room_id) -> str:
    csp = client.get(f"/t/{tenant.slug}/rooms/{room_id}/embed").headers["Content-Security-Policy"]
    return re.search(r"frame-ancestors ([^;]*)", csp).group(1)


def test_admin_lists_the_websites_that_can_embed_chats_and_the_embed_allows_exactly_those(app):
    """No app context is held across requests (settings are read once per request, as in production)."""
    from tests.support.worlds import build_world

    with app.app_context():
        world = build_world()
        tenant = world.tenant
        client, _ = admin_client(app, tenant, world.admin)
    resident = app.test_client()
    assert _frame_ancestors(resident, tenant, world.room["id"]) == "'self'"
    page = client.get(console(tenant, "settings"))
    assert 'id="embed_domains"' in page.text and "/rooms/CHAT-ID/embed" in page.text   # with the embed code

    saved = client.post(console(tenant, "settings/embed"), data={
        "embed_domains": " https://www.Example.police.uk/ \n\nhttps://news.example.police.uk:8443\n"
                         "https://*.neighbourhood.example.police.uk\nhttps://www.example.police.uk\n"
                         "http://localhost:8080"})
    assert saved.status_code == 302
    allowed = ["https://www.example.police.uk", "https://news.example.police.uk:8443",
               "https://*.neighbourhood.example.police.uk", "http://localhost:8080"]   # tidied, repeats dropped
    assert _frame_ancestors(resident, tenant, world.room["id"]) == " ".join(["'self'", *allowed])
    assert "https://news.example.police.uk:8443" in client.get(console(tenant, "settings")).text
    with app.app_context(), tenant_scope(tenant.id) as tx:
        assert tx.value("select settings->'embed_domains' from tenants") == allowed
        entry = tx.one("select actor_label, details from audit_log where action = 'settings.embed_domains_updated'")
    assert world.admin.email in entry["actor_label"] and entry["details"]["added"] == allowed

    for bad, message in (
            ("https://www.example.police.uk\nftp://files.example.org",
             "Line 2: “ftp://files.example.org” must start with https://"),
            ("http://www.example.police.uk", "Line 1: “http://www.example.police.uk” must start with https://"),
            ("https://www.example.police.uk/news/chat", "“https://www.example.police.uk/news/chat” is not a website"
                                                        " address on its own"),
            ("https://www.example.police.uk 'unsafe-inline'", "is not a website address on its own"),
            ("https://www.example.police.uk:99999", "has a port that does not exist"),
            ("\n".join(f"https://site{n}.example.police.uk" for n in range(21)), "at most 20 websites; you listed 21")):
        refused = client.post(console(tenant, "settings/embed"), data={"embed_domains": bad})
        assert refused.status_code == 400, bad
        assert message in field_error(refused.text, "embed_domains"), refused.text
        assert 'href="#embed_domains"' in refused.text        # in the error summary too
    with app.app_context(), tenant_scope(tenant.id) as tx:
        assert tx.value("select settings->'embed_domains' from tenants") == allowed, "nothing saved on error"
        assert tx.value("select count(*) from audit_log where action = 'settings.embed_domains_updated'") == 1
    assert _frame_ancestors(resident, tenant, world.room["id"]) == " ".join(["'self'", *allowed])

    original = app.config["TOWNHALL"]
    app.config["TOWNHALL"] = original.with_overrides(env="production")   # http://localhost is for testing only
    try:
        local = client.post(console(tenant, "settings/embed"), data={"embed_domains": "http://localhost:8080"})
    finally:
        app.config["TOWNHALL"] = original
    assert local.status_code == 400
    assert "is for testing on your own computer and is not allowed here" in field_error(local.text, "embed_domains")

    assert client.post(console(tenant, "settings/embed"), data={"embed_domains": ""}).status_code == 302
    assert _frame_ancestors(resident, tenant, world.room["id"]) == "'self'"
