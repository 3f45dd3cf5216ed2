"""The embed from a second origin: a static page on http://localhost:<port> frames the room served
by http://127.0.0.1:<port> (a different site, so the browser withholds the room's cookies, as it
would on a force's website). Residents join and ask in place; origins the tenant did not allow
cannot frame it."""
from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from psycopg.types.json import Jsonb

from tenants.db import tenant_scope
from tests.browser.conftest import TIMEOUT_MS
from tests.support.live_client import LiveClient
from tests.support.servers import free_port


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def force_website(tmp_path_factory):
    """A second origin: a plain static web server, like a force's own website."""
    folder = tmp_path_factory.mktemp("force-website")
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://localhost:{port}"
    server.shutdown()


def publish_page(folder, name: str, iframe_src: str) -> str:
    (folder / name).write_text(f"""<!doctype html><html lang="en"><head><title>Force news</title></head>
<body><h1>Have your say</h1><iframe src="{iframe_src}" title="Webchat" width="900" height="1400"></iframe></body></html>""")
    return name


def allow_embedding(world, origins: list[str]) -> None:
    with tenant_scope(world.tenant.id) as tx:
        tx.execute("update tenants set settings = settings || %s where id = %s",
                   [Jsonb({"embed_domains": origins}), world.tenant.id])


def test_resident_joins_and_asks_inside_an_embed_on_another_origin(app_ctx, make_world, site, force_website,
                                                                     new_page):
    folder, origin = force_website
    world = make_world()
    allow_embedding(world, [origin, "javascript:alert(1)"])   # the bad entry is ignored
    embed_url = site.tenant_url(world.tenant, f"/rooms/{world.room['id']}/embed")
    page = new_page()
    page.goto(f"{origin}/{publish_page(folder, 'allowed.html', embed_url)}")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Ask the Commissioner")).to_be_visible()
    frame.get_by_label("Display name (optional)").fill("Lee")
    frame.get_by_role("button", name="Join the chat").click()
    expect(frame.locator("#live[data-connection='connected']")).to_be_attached()
    expect(frame.locator("#ask")).to_contain_text("Lee")

    moderator = LiveClient(site.live.url, world.staff_token(world.moderator), staff_last_seq=0).connect()
    try:
        frame.get_by_label("Your question", exact=True).fill("Is the Riverside beat surgery still on Fridays?")
        frame.get_by_role("button", name="Send question").click()
        expect(frame.locator("#my-questions-list")).to_contain_text("waiting for a moderator")
        submitted = moderator.wait_for(lambda: moderator.events_of("question.submitted", "staff"))
        assert moderator.call("approve", {"question_id": submitted[-1]["data"]["id"]})["ok"]
        expect(frame.locator("#questions")).to_contain_text("Is the Riverside beat surgery still on Fridays?")
    finally:
        moderator.disconnect()
    assert page.url.startswith(origin), "the resident never left the force's page"

    headers = page.request.get(embed_url).headers
    assert f"frame-ancestors 'self' {origin}" in headers["content-security-policy"]
    assert "javascript" not in headers["content-security-policy"]


def test_an_origin_the_tenant_did_not_allow_cannot_frame_the_room(app_ctx, make_world, site, force_website,
                                                                   browser):
    folder, origin = force_website
    world = make_world()
    allow_embedding(world, ["https://www.example.police.uk"])
    embed_url = site.tenant_url(world.tenant, f"/rooms/{world.room['id']}/embed")
    context = browser.new_context()   # this page is expected to report a CSP refusal
    try:
        page = context.new_page()
        refused = []
        page.on("console", lambda msg: refused.append(msg.text) if "frame-ancestors" in msg.text else None)
        page.goto(f"{origin}/{publish_page(folder, 'not-allowed.html', embed_url)}")
        page.wait_for_timeout(500)
        frame = page.frames[1]
        assert frame.locator("#live").count() == 0, "the room rendered inside a page the tenant did not allow"
        assert refused, "Chromium did not report the frame-ancestors refusal"
    finally:
        context.close()
    # the full room page is never frameable, even by an allowed origin
    full = site.tenant_url(world.tenant, f"/rooms/{world.room['id']}")
    import requests

    assert "frame-ancestors 'self';" in requests.get(full, timeout=TIMEOUT_MS / 1000).headers["Content-Security-Policy"]
