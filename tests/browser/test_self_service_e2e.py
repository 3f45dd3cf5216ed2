"""End to end in Chromium: a new OPCC signs up, verifies by the emailed link, is approved, its
admin sets up and signs in with TOTP, brands the tenant, and invites a moderator who accepts and
signs in. Real web server, real SMTP sink, real PostgreSQL."""
from __future__ import annotations

import re
import uuid

import pytest
from click.testing import CliRunner
from PIL import Image
from playwright.sync_api import expect

from services.commands import cli
from tests.support.axe import violations
from tests.support.console import totp_code

pytestmark = pytest.mark.browser
PASSWORD = "three random words please"



def open_menu(page, name: str) -> None:
    """Opens one of the console's navigation menus (Engagement, Organisation, Account: ...)."""
    page.get_by_role("navigation", name="Console").locator("summary", has_text=name).click()

def _logo(tmp_path) -> str:
    path = tmp_path / "crest.png"
    Image.new("RGB", (600, 200), (11, 79, 108)).save(path, "PNG")
    return str(path)


def _checked(page, label: str) -> None:
    found = violations(page)
    assert found == [], f"{label}: {found}"


def test_an_opcc_signs_up_brands_its_tenant_and_invites_a_moderator(browser, web_server, smtp_sink, env, tmp_path):
    slug = f"e2e-{uuid.uuid4().hex[:8]}"
    admin_email = f"comms-{slug}@e2e.pcc.police.uk"
    moderator_email = f"mod-{slug}@e2e.police.uk"
    base = web_server.url
    admin = browser.new_context(bypass_csp=True)     # bypass only so axe-core can be injected
    page = admin.new_page()

    # 1. Sign up on the platform host; the first attempt uses a gmail address and is refused.
    page.goto(f"{base}/signup")
    _checked(page, "sign-up page")
    page.get_by_label("Organisation name").fill("Office of the PCC for E2Eshire")
    page.get_by_label("Web address").fill(slug)
    page.get_by_label("Your name").fill("Casey Comms")
    page.get_by_label("Your work email address").fill("casey@gmail.com")
    page.get_by_role("button", name="Send the confirmation email").click()
    expect(page.locator("#email-error")).to_contain_text("own domain")
    expect(page.locator(".error-summary")).to_contain_text("own domain")
    page.get_by_label("Your work email address").fill(admin_email)
    page.get_by_role("button", name="Send the confirmation email").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    # 2. Verify by the emailed link and choose a password: the tenant is now on trial.
    page.goto(smtp_sink.link(admin_email, "confirm your townhall sign-up"))
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page).to_have_url(re.compile(rf"/t/{slug}/console/sign-in$"))
    expect(page.locator(".flash-success")).to_contain_text("set up for a trial")

    # 3. The platform approves it (the CLI).
    result = CliRunner().invoke(cli, ["approve-tenant", slug, "--plan", "standard"], env=env)
    assert result.exit_code == 0, result.output

    # 4. The admin signs in and must set up TOTP first; then signs in again with a code.
    page.get_by_label("Email address").fill(admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    _checked(page, "TOTP set-up")
    expect(page.locator("img.qr")).to_be_visible()
    secret = page.locator("[data-totp-secret]").text_content()
    assert page.locator("[data-totp-uri]").text_content().startswith("otpauth://totp/")
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading", name="Chats", exact=True)).to_be_visible()
    open_menu(page, "Account")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email address").fill(admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(totp_code(secret, steps_ahead=1))     # the set-up code cannot be reused
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Chats", exact=True)).to_be_visible()

    # 5. Branding: a colour failing AA is refused with its ratio; then good colours and a logo.
    open_menu(page, "Organisation")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Primary colour").fill("#66aadd")
    page.get_by_role("button", name="Save branding").click()
    expect(page.locator("#primary-error")).to_contain_text("contrast ratio of 2.")
    expect(page.locator("#primary-error")).to_contain_text("Try #")
    expect(page.locator(".error-summary a[href='#primary']")).to_be_visible()
    page.get_by_label("Primary colour").fill("#0b4f6c")
    page.get_by_label("Accent colour").fill("#ffd166")
    page.get_by_label("Welcome text").fill("Put your questions to the Commissioner.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-preview] h3")).to_have_text("Preview (not saved yet)")
    preview_bg = page.locator(".preview-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert preview_bg == "rgb(11, 79, 108)"
    page.get_by_role("button", name="Save branding").click()
    expect(page.locator(".flash-success")).to_contain_text("Branding saved")
    page.get_by_label("Logo file").set_input_files(_logo(tmp_path))
    page.get_by_role("button", name="Upload logo").click()
    expect(page.locator(".flash-success")).to_contain_text("Logo uploaded")
    _checked(page, "settings page")

    resident = browser.new_page()
    resident.goto(f"{base}/t/{slug}/")
    header_bg = resident.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_bg == "rgb(11, 79, 108)"
    logo = resident.locator("img.brand-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") == 600
    expect(resident.locator(".welcome")).to_contain_text("Put your questions to the Commissioner.")
    resident.close()

    # 6. Invite a moderator, who accepts in their own browser and signs in (no TOTP needed for them).
    open_menu(page, "Organisation")
    page.get_by_role("link", name="Staff").click()
    page.get_by_label("Work email address").fill(moderator_email)
    page.get_by_label("Name", exact=True).fill("Morgan Moderator")
    page.get_by_label("Role").select_option("moderator")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Invitation sent to {moderator_email}")
    _checked(page, "staff page")

    moderator = browser.new_context().new_page()
    moderator.goto(smtp_sink.link(moderator_email, "invited"))
    expect(moderator.get_by_role("heading", name=re.compile("Join Office of the PCC for E2Eshire"))).to_be_visible()
    moderator.get_by_label("Choose a password").fill("moderators-choose-long-ones")
    moderator.get_by_role("button", name="Accept invitation").click()
    moderator.get_by_label("Email address").fill(moderator_email)
    moderator.get_by_label("Password").fill("moderators-choose-long-ones")
    moderator.get_by_role("button", name="Sign in").click()
    expect(moderator.get_by_role("heading", name="Chats", exact=True)).to_be_visible()
    expect(moderator.locator(".nav-account summary")).to_have_text("Account: Morgan Moderator")
    expect(moderator.get_by_role("link", name="Settings", exact=True, include_hidden=True)).to_have_count(0)
    assert moderator.goto(f"{base}/t/{slug}/console/settings").status == 403
    admin.close()
