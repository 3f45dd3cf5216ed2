"""Live captions in real browsers (issue 20): Chromium's fake microphone plays a spoken WAV into the
host console's "Speak live"; the AudioWorklet sends 16 kHz chunks over the staff socket; a real
caption worker transcribes them; a resident's room page shows the lines in order, announces only
final lines politely, lets the reader resize and hide them (remembered), and axe finds nothing."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PageProblems, axe_check, resident_in_room, staff_cookie, \
    wait_connected
from tests.support.speech import spoken_session
from tests.support.workers import start_captions_worker
from tests.support.worlds import make_tenant


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return spoken_session(tmp_path_factory.mktemp("speech"))[0]


@pytest.fixture()
def captioner(env, tmp_path):
    proc = start_captions_worker(env, tmp_path, name="captions-browser", extra_env={"MEDIA_DIR": str(tmp_path / "media")})
    yield proc
    proc.stop()


@pytest.fixture()
def microphone_page(browser, speech):
    """A page in a Chromium whose microphone is the spoken WAV (its own browser: the flags are per process)."""
    problems = PageProblems()
    with_mic = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}", "--autoplay-policy=no-user-gesture-required"])

    def make(cookie):
        context = with_mic.new_context(permissions=["microphone"])
        context.add_cookies([cookie])
        page = context.new_page()
        problems.watch(page)
        return page
    yield make
    with_mic.close()
    assert not problems.items, "\n".join(problems.items)


def test_the_hosts_microphone_becomes_captions_on_a_residents_page(app_ctx, make_world, site, new_page, captioner,
                                                                     microphone_page):
    world = make_world(tenant=make_tenant(settings={"languages": ["en", "cy"]}))
    resident = resident_in_room(new_page, site, world, "Sam")
    panel = resident.locator("#captions")
    expect(panel).to_be_hidden()            # nobody has spoken yet: no empty panel in the way

    host = microphone_page(staff_cookie(site, world.tenant, world.host))
    host.goto(site.tenant_url(world.tenant, f"/console/rooms/{world.room['id']}/host"))
    wait_connected(host, "#staff-live")
    speak = host.get_by_role("button", name="Speak live")
    speak.click()
    expect(host.locator("[data-field='speak-status']")).to_have_text(re.compile("Live: residents see captions"))
    expect(host.get_by_role("button", name="Stop speaking live")).to_have_attribute("aria-pressed", "true")

    lines = panel.locator("[data-captions-lines] li")
    expect(panel).to_be_visible(timeout=30_000)
    expect(lines.first).to_contain_text(re.compile("commission", re.I), timeout=30_000)
    expect(lines.nth(1)).to_contain_text(re.compile("reporting crime", re.I), timeout=30_000)
    ids = lines.evaluate_all("(items) => items.map((li) => Number(li.dataset.captionId))")
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # only final lines reach the polite live region; the phrase being spoken is hidden from it
    announced = resident.locator("[data-field='captions-announcer']")
    assert announced.get_attribute("aria-live") == "polite"
    finals = lines.all_inner_texts()
    assert announced.inner_text() in finals
    assert resident.locator("[data-field='caption-partial']").get_attribute("aria-hidden") == "true"
    axe_check(resident)

    # bigger text, then hidden: both remembered across a reload
    resident.get_by_role("button", name="Larger caption text").click()
    assert panel.get_attribute("data-size") == "2"
    resident.get_by_role("button", name="Hide captions").click()
    expect(resident.locator("#captions-body")).to_be_hidden()
    expect(resident.get_by_role("button", name="Show captions")).to_have_attribute("aria-expanded", "false")
    resident.reload()
    wait_connected(resident)
    expect(resident.locator("#captions-body")).to_be_hidden()
    assert resident.locator("#captions").get_attribute("data-size") == "2"
    resident.get_by_role("button", name="Show captions").click()
    # the page rendered the lines so far (a late joiner or a reload reads them without waiting)
    expect(resident.locator("#captions [data-captions-lines] li").first).to_contain_text(re.compile("commission", re.I))
    axe_check(resident)

    host.get_by_role("button", name="Stop speaking live").click()
    expect(host.get_by_role("button", name="Speak live")).to_have_attribute("aria-pressed", "false")

    # the big screen shows them too, and the Welsh page has Welsh words around them
    screen = new_page()
    screen.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}/screen"))
    expect(screen.locator("#captions [data-captions-lines] li").first).to_contain_text(re.compile("commission", re.I))
    welsh = new_page()
    welsh.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}?lang=cy"))
    expect(welsh.locator("#captions-heading")).to_have_text("Capsiynau byw")
    expect(welsh.get_by_role("button", name="Cuddio capsiynau")).to_be_visible()
    axe_check(welsh)
