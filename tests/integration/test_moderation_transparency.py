"""Moderation transparency: reason codes configured per tenant on the console settings page,
duplicates merged into a published question, and the counts residents see (room page and
transcript) equal to the database after a scripted session. Also themes and the tag command."""
from __future__ import annotations

import json
import re

from services.live import actions
from tenants.db import tenant_scope
from tests.support.console import admin_client, enable_totp, sign_in as console_sign_in
from services.transcripts.build import build_and_store

OWN_OFF_TOPIC = "This chat is about the precept only. Ask about other things at our monthly surgeries."
SIGNPOST = "Bins and potholes: Riverside Council, 01234 567890."


def staff_client(app, world, staff):
    client = app.test_client()
    secret = enable_totp(world.tenant, staff)
    assert console_sign_in(client, world.tenant, staff.email, secret=secret).status_code == 302
    return client


def save_settings(client, world, **fields):
    form = {f"enabled_{code}": "on" for code in ("operational", "individual_case", "offensive", "duplicate",
                                                 "off_topic", "personal_data", "other_body", "defamatory")}
    form.update(fields)
    return client.post(f"/t/{world.tenant.slug}/console/settings/engagement", data=form)


def resident_client(app, world, name):
    client = app.test_client()
    assert client.post(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/join",
                       data={"display_name": name}).status_code == 302
    return client


def ask(client, world, body) -> str:
    client.post(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/questions", data={"body": body})
    with tenant_scope(world.tenant.id) as tx:
        return str(tx.value("select id from questions where body = %s", [body]))


def command(client, world, name, **data):
    return client.post(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/commands/{name}",
                       data=data, follow_redirects=True).get_data(as_text=True)


def test_tenant_reason_codes_and_merged_duplicates_are_counted_fairly(app, app_ctx, make_world):
    world, other_world = make_world(), make_world()
    admin, _ = admin_client(app, world.tenant, world.admin)
    response = save_settings(admin, world, enabled_defamatory="", text_off_topic=OWN_OFF_TOPIC, signpost=SIGNPOST)
    assert response.status_code == 302
    del admin
    moderator = staff_client(app, world, world.moderator)
    page = moderator.get(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/moderate").get_data(as_text=True)
    assert 'value="defamatory"' not in page and 'value="off_topic"' in page   # turned off for this tenant only
    other_page = staff_client(app, other_world, other_world.moderator).get(
        f"/t/{other_world.tenant.slug}/console/rooms/{other_world.room['id']}/moderate").get_data(as_text=True)
    assert 'value="defamatory"' in other_page

    jo, sam = resident_client(app, world, "Jo"), resident_client(app, world, "Sam")
    original = ask(jo, world, "Will the precept rise by more than 5%?")
    command(moderator, world, "approve", question_id=original)
    repeat = ask(sam, world, "Is the precept going up more than five per cent?")
    repeat_2 = ask(jo, world, "How much will the precept rise?")
    off_topic = ask(sam, world, "Who empties the bins on my street?")
    council = ask(jo, world, "Can you fix the pothole on Mill Lane?")
    defamatory = ask(sam, world, "Is the chief a crook?")
    pending = ask(jo, world, "What about rural crime?")

    assert "Done." in command(moderator, world, "merge", question_id=repeat, into_id=original)
    assert "Done." in command(moderator, world, "merge", question_id=repeat_2, into_id=original)
    assert "Choose a reason from the list." in command(moderator, world, "reject", question_id=defamatory,
                                                       reason="defamatory")
    command(moderator, world, "reject", question_id=defamatory, reason="offensive")
    command(moderator, world, "reject", question_id=off_topic, reason="off_topic")
    command(moderator, world, "reject", question_id=council, reason="other_body")
    # merging into a question that is not published, or of another tenant, changes nothing
    assert "Merge into a published question" in command(moderator, world, "merge", question_id=pending,
                                                        into_id=pending)
    with tenant_scope(other_world.tenant.id) as tx:
        foreign = actions.submit_question(tx, other_world.join(), "Another force's question")
    assert moderator.post(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/commands/merge",
                          data={"question_id": pending, "into_id": str(foreign["id"])}).status_code == 404

    # residents are told in the tenant's words, with its signpost, and which question theirs repeats
    sam_page = sam.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert OWN_OFF_TOPIC in sam_page
    assert "A similar question has already been asked" in sam_page
    jo_page = jo.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert f"This is a matter for another organisation, such as your local council. They are best placed to help. " \
           f"{SIGNPOST}" in jo_page.replace("&#39;", "'")
    with tenant_scope(world.tenant.id) as tx:
        messages = [r["body"] for r in tx.all("select body from private_messages where kind = 'rejected'")]
        truth = tx.one("select count(*) as received, count(*) filter (where status = 'published') as published,"
                       " count(*) filter (where status = 'rejected') as rejected,"
                       " count(*) filter (where merged_into is not null) as merged from questions where room_id = %s",
                       [world.room["id"]])
    assert any("Will the precept rise by more than 5%?" in m for m in messages)

    def shown(page, name):
        return int(re.search(rf'data-count="{name}">(\d+)<', page).group(1))

    public = app.test_client().get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert [shown(public, n) for n in ("received", "published", "merged", "rejected")] == \
        [truth["received"], truth["published"], truth["merged"], truth["rejected"]] == [7, 1, 2, 5]
    assert re.search(r'data-reason="duplicate">Duplicate: 2<', public)
    assert re.search(r'data-reason="other_body">Better answered by another body: 1<', public)

    with tenant_scope(world.tenant.id) as tx:
        from services.rooms.actions import change_state
        change_state(tx, world.host, world.room["id"], "closed")
    assert build_and_store(world.tenant.id, world.room["id"]) == "stored"
    with tenant_scope(world.tenant.id) as tx:
        stored = tx.one("select html, text, json from transcripts where room_id = %s", [world.room["id"]])
    figures = json.loads(stored["json"])["figures"]
    assert (figures["questions_received"], figures["questions_merged"], figures["questions_rejected"]) == (7, 2, 5)
    assert re.search(r'data-figure="merged">2<', stored["html"])
    assert "Questions merged as duplicates: 2" in stored["text"]


def test_engagement_pages_are_for_admins_and_bad_settings_change_nothing(app, app_ctx, make_world):
    world = make_world()
    moderator = staff_client(app, world, world.moderator)
    for path in ("settings/engagement", "escalations"):
        assert moderator.get(f"/t/{world.tenant.slug}/console/{path}").status_code == 403
    admin, _ = admin_client(app, world.tenant, world.admin)
    bad = save_settings(admin, world, escalation_email="not an email", escalation_webhook_url="ftp://x.example")
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "Enter the contact centre" in body
    none_left = admin.post(f"/t/{world.tenant.slug}/console/settings/engagement", data={})
    assert none_left.status_code == 400 and "Keep at least one rejection reason" in none_left.get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        assert "escalation_email" not in (tx.value("select settings from tenants where id = %s", [world.tenant.id]))
        assert tx.value("select count(*) from audit_log where action = 'settings.engagement_changed'") == 0
    ok = save_settings(admin, world, escalation_email="Contact.Centre@Force.Police.uk",
                       escalation_webhook_url="https://hooks.force.example/escalations")
    assert ok.status_code == 302
    page = admin.get(f"/t/{world.tenant.slug}/console/settings/engagement").get_data(as_text=True)
    assert 'value="contact.centre@force.police.uk"' in page and 'data-field="webhook-secret"' in page


def test_staff_tag_questions_with_the_tenants_themes(app, app_ctx, make_world):
    world, other = make_world(), make_world()
    admin, _ = admin_client(app, world.tenant, world.admin)
    for name, kind in (("Safer streets", "priority"), ("Precept: +£10 a year", "precept")):
        assert admin.post(f"/t/{world.tenant.slug}/console/themes", data={"name": name, "kind": kind}).status_code == 302
    duplicate = admin.post(f"/t/{world.tenant.slug}/console/themes", data={"name": "safer STREETS"})
    assert duplicate.status_code == 400 and "already a theme" in duplicate.get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        themes = {r["name"]: str(r["id"]) for r in tx.all("select id, name from themes")}
        question = actions.submit_question(tx, world.join(), "More patrols at night?")
    moderator = staff_client(app, world, world.moderator)
    page = moderator.get(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/moderate").get_data(as_text=True)
    assert "Safer streets" in page and 'name="theme_ids"' in page
    command(moderator, world, "tag", question_id=str(question["id"]),
            theme_ids=[themes["Safer streets"], themes["Precept: +£10 a year"]])
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from question_themes where question_id = %s", [question["id"]]) == 2
    with tenant_scope(other.tenant.id) as tx:
        other_theme = tx.one("insert into themes (tenant_id, name) values (%s, 'Theirs') returning id",
                             [other.tenant.id])["id"]
    response = moderator.post(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/commands/tag",
                              data={"question_id": str(question["id"]), "theme_ids": str(other_theme)})
    assert response.status_code == 404
    command(moderator, world, "tag", question_id=str(question["id"]), theme_ids=[themes["Safer streets"]])
    with tenant_scope(world.tenant.id) as tx:
        assert [r["theme_id"] for r in tx.all("select theme_id from question_themes")] == [
            __import__("uuid").UUID(themes["Safer streets"])]
        assert tx.value("select count(*) from audit_log where action = 'question.tagged'") == 2
