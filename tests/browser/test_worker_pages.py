"""The pages added for registrations, transcripts and recordings, in real Chromium (the session's
browser: one Playwright per process) against a real `townhall web` process: axe-core finds no WCAG 2.2 A/AA violation, and the forms work by keyboard."""
from __future__ import annotations

import re
import uuid

import pytest

from services.reminders import links
from services.residents import registrations
from tenants.db import tenant_scope
from tests.browser.conftest import sign_in_with_form
from tests.integration.workers.conftest import sink, work_dir, worker_env  # noqa: F401  (fixtures)
from tests.integration.workers.helpers import answer_and_close
from tests.support.servers import ROOT, start_server
from workers import transcripts

pytestmark = pytest.mark.browser
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def web(worker_env, tmp_path_factory):
    server = start_server("web", worker_env, tmp_path_factory.mktemp("web-logs"))
    yield server
    server.stop()


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})).violations
        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""")
    return result


def test_registration_transcript_and_recordings_pages_are_accessible(app_ctx, make_world, web, browser):
    upcoming = make_world(state="scheduled")
    closed = make_world(state="live")
    answer_and_close(closed, "Fran", "Will there be more patrols in the park?", "Yes, from next month.",
                     announcement="Thank you for joining.", enqueue=False)
    transcripts.build_and_store(closed.tenant.id, closed.room["id"])

    page = browser.new_page(bypass_csp=True)   # axe is injected as a script
    try:
        # the room page: register for reminders by keyboard only
        page.goto(f"{web.url}/t/{upcoming.tenant.slug}/rooms/{upcoming.room['id']}")
        assert axe_violations(page) == []
        page.focus("#register-email")
        page.keyboard.type(f"kb-{uuid.uuid4().hex[:6]}@example.org")
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash-success")
        assert "we have sent it an email" in page.inner_text(".flash-success")
        with tenant_scope(upcoming.tenant.id) as tx:
            registration = tx.one("select id from registrations where room_id = %s", [upcoming.room["id"]])
        token = links.make_token(upcoming.tenant.id, registration["id"], "confirm")
        page.goto(f"{web.url}/t/{upcoming.tenant.slug}/registrations/confirm/{token}")
        assert axe_violations(page) == []
        page.keyboard.press("Tab")
        while page.evaluate("document.activeElement.textContent") != "Confirm my reminders":
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Your reminders are confirmed")
        unsubscribe = links.make_token(upcoming.tenant.id, registration["id"], "unsubscribe")
        page.goto(f"{web.url}/t/{upcoming.tenant.slug}/unsubscribe/{unsubscribe}")
        assert axe_violations(page) == []

        # the transcript page
        page.goto(f"{web.url}/t/{closed.tenant.slug}/rooms/{closed.room['id']}/transcript")
        assert page.inner_text("h1") == f"Transcript: {closed.room['title']}"
        assert "Yes, from next month." in page.inner_text("main")
        assert axe_violations(page) == []

        # the console's recordings page, with an upload error shown
        sign_in_with_form(page, web.url, closed.tenant, closed.admin)
        page.click("text=Recordings and transcript")
        assert axe_violations(page) == []
        page.set_input_files("#media-file", files=[{"name": "notes.wav", "mimeType": "audio/wav",
                                                    "buffer": b"not a recording at all"}])
        page.click("button:has-text('Upload')")
        page.wait_for_selector(".error-summary")
        assert "not an audio or video recording" in page.inner_text(".error-summary")
        assert page.get_attribute("#media-file", "aria-invalid") == "true"
        assert axe_violations(page) == []
    finally:
        page.close()
