"""Headless Chromium (Debian's, never downloaded) against a real `townhall web` server."""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support.servers import start_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# The machine is shared with other test runs: allow for a slow moment rather than fail.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def web_server(env, tmp_path_factory):
    server = start_server("web", env, tmp_path_factory.mktemp("web-logs"),
                          extra_env={"WEB_CONCURRENCY": "1", "ACCESS_LOG": "0"})
    yield server
    server.stop()
