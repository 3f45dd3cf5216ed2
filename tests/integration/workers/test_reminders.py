"""Registrations and reminders end to end: a resident registers on the room page, confirms by the
emailed link, and real workers deliver each reminder to the SMTP sink at the time the test drives,
once, also when two workers and two dispatchers race. Rescheduling moves them; cancelling tells
registrants; one click unsubscribes."""
from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from services.reminders import links
from services.residents import registrations
from services.rooms import actions as room_actions
from tenants.db import tenant_scope
from tests.support.workers import start_worker, stop_all, wait_until
from workers import reminders
from workers.celery_app import celery_app


@pytest.fixture(scope="module")
def two_workers(worker_env, work_dir):
    celery_app.control.purge()
    procs = [start_worker(worker_env, work_dir, queues="default,mail", name=f"worker-{n}") for n in (1, 2)]
    yield procs
    stop_all(procs)


@pytest.fixture()
def scheduled(make_world):
    def make(**fields):
        world = make_world(state="scheduled", **fields)
        with tenant_scope(world.tenant.id) as tx:   # three days ahead, on the minute
            start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(second=0, microsecond=0)
            world.room = room_actions.update_room(tx, world.admin, world.room["id"],
                                                  {"starts_at": start, "ends_at": start + timedelta(hours=1)})
        return world
    return make


def _address() -> str:
    return f"resident-{uuid.uuid4().hex[:10]}@example.org"


def _confirm_directly(world, email: str) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        registration = registrations.register(tx, world.room["id"], email)
        tx._after_commit.clear()   # no confirmation message needed for this test
    with tenant_scope(world.tenant.id) as tx:
        return registrations.confirm(tx, links.make_token(world.tenant.id, registration["id"], "confirm"))


def _dispatch(at: datetime) -> None:
    reminders.dispatch_due_task.delay(at.isoformat())


def _due(world) -> list[dict]:
    with tenant_scope(world.tenant.id) as tx:
        return tx.all("select kind, offset_minutes, due_at, sent_at, outcome from reminders where room_id = %s"
                      " order by due_at", [world.room["id"]])


def test_register_confirm_and_get_each_reminder_once_at_its_time(app_ctx, scheduled, client, sink, two_workers):
    world = scheduled()
    start = world.room["starts_at"]
    email = _address()
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}")
    assert 'id="register-email"' in page.get_data(as_text=True)
    response = client.post(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/register", data={"email": email},
                           follow_redirects=True)
    assert "we have sent it an email" in response.get_data(as_text=True)

    [confirmation] = sink.wait_for(email)
    assert confirmation.subject.startswith("Confirm your reminders")
    assert "List-Unsubscribe" not in confirmation.message     # not subscribed yet
    link = re.search(r"http://townhall\.test(/t/\S+/registrations/confirm/\S+)", confirmation.text()).group(1)
    assert "Confirm my reminders" in client.get(link).get_data(as_text=True)   # GET only shows a button
    assert all(r["kind"] != "before" for r in _due(world))
    assert "Your reminders are confirmed" in client.post(link).get_data(as_text=True)
    assert [(r["kind"], r["offset_minutes"]) for r in _due(world)] == [("before", 1440), ("before", 60), ("live", 0)]

    _dispatch(start - timedelta(hours=25))                    # nothing due yet
    _dispatch(start - timedelta(hours=24) + timedelta(seconds=30))
    day = sink.wait_for(email, 2)[1]
    assert day.subject == f'Reminder: "{world.room["title"]}" starts in 24 hours'
    assert day.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.match(r"<http://townhall\.test/t/.+/unsubscribe/.+>", day.message["List-Unsubscribe"])
    [ics] = day.attachments()
    assert ics.get_content_type() == "text/calendar" and ics.get_filename() == "chat.ics"
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start and str(event["summary"]) == world.room["title"]
    assert "<html" in day.html() and world.tenant.name in day.html()

    _dispatch(start - timedelta(minutes=59))
    assert sink.wait_for(email, 3)[2].subject.endswith("starts in 1 hour")
    _dispatch(start + timedelta(minutes=1))
    assert sink.wait_for(email, 4)[3].subject == f'We\'re live: "{world.room["title"]}"'
    for at in (start + timedelta(minutes=2), start + timedelta(minutes=3)):   # again: nothing new
        _dispatch(at)
    wait_until(lambda: all(r["sent_at"] for r in _due(world)))
    assert [m.subject.split(":")[0] for m in sink.messages(email)] == [
        "Confirm your reminders for \"" + world.room["title"] + "\"", "Reminder", "Reminder", "We're live"]


def test_two_workers_and_two_dispatchers_racing_send_each_reminder_once(app_ctx, scheduled, sink, two_workers):
    world = scheduled()
    emails = [_address() for _ in range(6)]
    for email in emails:
        _confirm_directly(world, email)
    due = world.room["starts_at"] - timedelta(minutes=59)   # both "before" reminders are due
    for _ in range(4):   # four dispatches at once, shared by two worker processes
        _dispatch(due)
    for email in emails:
        sink.wait_for(email, 2)
    wait_until(lambda: all(r["sent_at"] for r in _due(world) if r["kind"] == "before"))
    for email in emails:
        subjects = sorted(m.subject for m in sink.messages(email))
        assert subjects == sorted([f'Reminder: "{world.room["title"]}" starts in 1 hour',
                                   f'Reminder: "{world.room["title"]}" starts in 24 hours'])


def test_the_claim_is_exclusive_when_run_concurrently(app_ctx, app, scheduled):
    """The due-finder itself, in threads started together: every reminder claimed exactly once."""
    world = scheduled()
    for _ in range(12):
        _confirm_directly(world, _address())
    due = world.room["starts_at"] + timedelta(minutes=1)   # all three timed reminders (live is still useful)
    barrier = threading.Barrier(4)
    claimed: list[int] = []

    def run():
        with app.app_context():
            barrier.wait()
            claimed.append(reminders.dispatch_due_in_tenant(world.tenant.id, due, limit=50))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    rows = _due(world)
    assert len(rows) == 36 and all(r["sent_at"] for r in rows)
    assert sum(claimed) == 36   # each row claimed by exactly one of the four
    assert sorted(r["outcome"] for r in rows) == ["sent"] * 12 + ["skipped"] * 24   # "live" is still useful
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from outbound_mail where ref like 'reminder:%%'"
                        " and ref = any(%s)", [[f"reminder:{r['id']}" for r in tx.all(
                            "select id from reminders where room_id = %s", [world.room["id"]])]]) == 12


def test_rescheduling_moves_unsent_reminders_and_tells_registrants(app_ctx, scheduled, sink, two_workers):
    world = scheduled()
    email = _address()
    _confirm_directly(world, email)
    old_start = world.room["starts_at"]
    new_start = old_start + timedelta(days=2)
    with tenant_scope(world.tenant.id) as tx:
        room_actions.update_room(tx, world.admin, world.room["id"],
                                 {"starts_at": new_start, "ends_at": new_start + timedelta(hours=1)})
    [notice] = sink.wait_for(email)
    assert notice.subject == f'New time: "{world.room["title"]}"'
    assert Calendar.from_ical(notice.attachments()[0].get_content()).walk("VEVENT")[0].decoded("dtstart") == new_start
    assert [r["due_at"] for r in _due(world)] == [new_start - timedelta(hours=24), new_start - timedelta(hours=1),
                                                   new_start]
    _dispatch(old_start - timedelta(minutes=59))   # the old times: nothing is due
    _dispatch(new_start - timedelta(hours=24) + timedelta(seconds=5))
    second = sink.wait_for(email, 2)[1]
    assert second.subject.endswith("starts in 24 hours")
    assert [r["sent_at"] is not None for r in _due(world)] == [True, False, False]


def test_moving_a_chat_earlier_skips_reminders_whose_time_has_passed(app_ctx, scheduled):
    world = scheduled()
    _confirm_directly(world, _address())
    soon = datetime.now(timezone.utc) + timedelta(minutes=30)
    with tenant_scope(world.tenant.id) as tx:
        room_actions.update_room(tx, world.admin, world.room["id"], {"starts_at": soon, "ends_at": soon + timedelta(hours=1)})
    rows = {(r["kind"], r["offset_minutes"]): r for r in _due(world)}
    assert rows[("before", 1440)]["outcome"] == "skipped" and rows[("before", 60)]["outcome"] == "skipped"
    assert rows[("live", 0)]["sent_at"] is None and rows[("live", 0)]["due_at"] == soon


def test_cancelling_a_chat_sends_a_calendar_cancellation(app_ctx, scheduled, sink, two_workers):
    world = scheduled()
    email = _address()
    _confirm_directly(world, email)
    with tenant_scope(world.tenant.id) as tx:
        room_actions.delete_room(tx, world.admin, world.room["id"])
    [cancelled] = sink.wait_for(email)
    assert cancelled.subject == f'Cancelled: "{world.room["title"]}"'
    calendar = Calendar.from_ical(cancelled.attachments()[0].get_content())
    assert str(calendar["method"]) == "CANCEL" and str(calendar.walk("VEVENT")[0]["status"]) == "CANCELLED"


def test_one_click_unsubscribe_without_a_csrf_token(app_ctx, app, scheduled, client):
    world = scheduled()
    registration = _confirm_directly(world, _address())
    token = links.make_token(world.tenant.id, registration["id"], "unsubscribe")
    url = f"/t/{world.tenant.slug}/unsubscribe/{token}"
    assert "Stop these emails" in client.get(url).get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = True    # RFC 8058: the mail client's POST carries no CSRF token
    try:
        response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200 and "no more emails" in response.get_data(as_text=True)
    assert all(r["outcome"] == "skipped" for r in _due(world))
    assert client.post(url).status_code == 200    # idempotent
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select status from registrations where id = %s", [registration["id"]]) == "unsubscribed"


def test_bad_registration_input_and_links_get_clear_errors(app_ctx, scheduled, make_tenant, client):
    world = scheduled()
    base = f"/t/{world.tenant.slug}"
    response = client.post(f"{base}/rooms/{world.room['id']}/register", data={"email": "not-an-email"},
                           follow_redirects=True)
    assert "Enter an email address like name@example.com." in response.get_data(as_text=True)
    bad = client.get(f"{base}/registrations/confirm/forged-token")
    assert bad.status_code == 422 and "not valid or has expired" in bad.get_data(as_text=True)
    registration = _confirm_directly(world, _address())
    other = make_tenant()   # a link made for one tenant does nothing on another's site
    token = links.make_token(world.tenant.id, registration["id"], "unsubscribe")
    assert client.post(f"/t/{other.slug}/unsubscribe/{token}").status_code == 422
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select status from registrations where id = %s", [registration["id"]]) == "confirmed"


def test_registering_twice_sends_one_confirmation_and_reveals_nothing(app_ctx, scheduled, client):
    world = scheduled()
    email = _address()
    url = f"/t/{world.tenant.slug}/rooms/{world.room['id']}/register"
    first = client.post(url, data={"email": email}, follow_redirects=True).get_data(as_text=True)
    second = client.post(url, data={"email": email.upper()}, follow_redirects=True).get_data(as_text=True)
    assert "we have sent it an email" in first and "we have sent it an email" in second
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from registrations where room_id = %s", [world.room["id"]]) == 1
        assert tx.value("select count(*) from outbound_mail where to_address = %s", [email]) == 1


def test_closed_rooms_take_no_registrations(app_ctx, make_world, client):
    world = make_world(state="closed")
    response = client.post(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/register",
                           data={"email": _address()}, follow_redirects=True)
    assert "reminders are no longer available" in response.get_data(as_text=True)
