"""A live process that is draining refuses new connections ("restarting"): socket.io-client does
not retry a refused connect by itself, so the page does, and ends up on another process. A refused
token is shown and not retried."""
from __future__ import annotations

import signal
import threading

import requests
from playwright.sync_api import expect

from tests.browser.conftest import wait_connected
from tests.support.live_client import LiveClient
from tests.support.servers import start_server
from tests.support.tcp_proxy import TcpProxy
from tests.support.workers import wait_until


def test_a_page_refused_by_a_draining_process_connects_to_another(make_world, env, tmp_path, new_page):
    # The drain drops its connections in batches over a few seconds: the process is still up,
    # refusing, when the page's connection (accepted before SIGTERM, held by the proxy) arrives.
    doomed = start_server("live", env, tmp_path, extra_env={"LIVE_DRAIN_SECONDS": "10"})
    fresh = start_server("live", env, tmp_path)
    hold = threading.Event()
    ingress = TcpProxy([doomed.port, fresh.port], hold=hold)
    web = start_server("web", env, tmp_path, extra_env={"LIVE_URL": ingress.url, "BASE_DOMAIN": "localhost",
                                                       "WEB_CONCURRENCY": "1", "ACCESS_LOG": "0"})
    world = make_world()
    viewers = [LiveClient(doomed.url, world.token("viewer")).connect() for _ in range(10)]
    try:
        page = new_page()
        page.goto(f"{web.url}/t/{world.tenant.slug}/rooms/{world.room['id']}")
        wait_until(lambda: ingress.connected, 10, message="the page's connection to reach the doomed process")
        doomed.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: _not_listening(doomed.url), 5, message="the doomed process to stop listening")
        hold.set()
        status = page.locator("#live [data-field='connection']")
        expect(status).to_have_text("Connection lost. Reconnecting…")
        wait_connected(page)
        expect(status).to_have_text("")
        assert "This server is restarting" not in page.content()
        assert doomed.proc.wait(15) == 0
    finally:
        hold.set()
        for viewer in viewers:
            viewer.disconnect()
        ingress.close()
        for server in (web, fresh, doomed):
            server.stop()


def test_an_expired_token_is_shown_and_not_retried(make_world, site, new_page):
    world = make_world()
    page = new_page()
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    # the token is spoiled as the page is parsed, before its script reads it (a fulfilled route
    # would do it too, but Chromium then treats the page as not local and blocks the WebSocket)
    page.add_init_script("""new MutationObserver((changes, observer) => {
        const root = document.getElementById('live');
        if (root) { root.dataset.token = 'expired'; observer.disconnect(); }
    }).observe(document, {childList: true, subtree: true});""")
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    expect(page.locator("#live[data-connection='error'] [data-field='connection']")).to_have_text(
        "Your session has expired: reload the page to reconnect.")
    page.wait_for_timeout(3000)
    assert len(sockets) == 1
    expect(page.locator("#live")).to_have_attribute("data-connection", "error")


def _not_listening(url: str) -> bool:
    try:
        requests.get(f"{url}/healthz", timeout=1)
    except requests.ConnectionError:
        return True
    return False
