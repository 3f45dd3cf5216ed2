"""Staff pages are English only, so they say lang="en-GB" even when the browser holds the Welsh
cookie from the resident pages (WCAG 3.1.1: the page's language is the language it shows)."""
from __future__ import annotations

from tests.support.console import admin_client, console


def test_console_says_english_under_a_welsh_cookie(app, make_tenant, make_staff):
    tenant = make_tenant(settings={"languages": ["en", "cy"]})
    client, _ = admin_client(app, tenant, make_staff(tenant, "admin"))
    client.set_cookie("lang", "cy")
    for path in ("", "settings/engagement", "rooms/new"):
        page = client.get(console(tenant, path), query_string={"lang": "cy"})
        assert page.status_code == 200, path
        assert '<html lang="en-GB">' in page.get_data(as_text=True), path
