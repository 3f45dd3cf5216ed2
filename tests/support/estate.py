"""One of everything a tenant can hold, made through the real actions (the ones the console, the
live server, the workers and the platform console call), for tests that must aim at every table:
the attack matrix's victim, and the emailed links both tenants need for replay attacks."""
from __future__ import annotations

import io
import struct
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime, timezone

from PIL import Image

from services.api import tokens as api_tokens
from services.api import webhooks
from services.engagement import data_rights, neighbourhoods, themes
from services.engagement import settings as engagement_settings
from services.live import actions as live_actions
from services.live import presence
from services.live.tokens import LiveIdentity
from services.captions import actions as caption_actions
from services.media import actions as media_actions
from services.reminders import links
from services.residents import registrations
from services.lib.validation import load
from tenants import auth, branding, platform
from tenants import staff as staff_actions
from tenants.db import tenant_scope
from tenants.platform_auth import create_admin
from services.billing import exports as exports_module
from workers import billing as billing_jobs
from services.transcripts.build import build_and_store
from tests.support.worlds import RoomWorld, another_room


@dataclass
class Estate:
    ids: dict[str, list[str]]      # URL variable or form field -> the tenant's ids
    links: dict[str, str]          # emailed link purpose -> its token


def _keep(tokens: list[str]):
    """A `link_for` that records the token an action puts in its email."""
    def link_for(token: str) -> str:
        tokens.append(token)
        return f"https://example.invalid/{token}"
    return link_for


def email_links(world: RoomWorld, word: str) -> tuple[dict[str, str], dict]:
    """Every kind of emailed link the tenant hands out (invitation, password reset, panelist link,
    registration confirm and unsubscribe, data-request verification), for a registration of `word`."""
    tenant_id, admin = world.tenant.id, world.admin
    sent: list[str] = []
    with tenant_scope(tenant_id) as tx:
        _, invite = staff_actions.invite_staff(tx, admin, email=f"{word}-invitee-{uuid.uuid4().hex[:6]}@b.police.uk",
                                               display_name=f"{word} invitee", role="moderator", link_for=_keep(sent))
        _, panelist = staff_actions.invite_panelist(tx, admin, world.room["id"], display_name=f"{word} panelist",
                                                    email=f"{word}-panelist-{uuid.uuid4().hex[:6]}@b.police.uk",
                                                    link_for=_keep(sent))
        auth.request_password_reset(tx, email=world.moderator.email, ip="198.51.100.9", organisation=world.tenant.name,
                                    link_for=_keep(sent))
        registration = registrations.register(tx, world.room["id"], f"{word}-resident-{uuid.uuid4().hex[:6]}@example.org")
    with tenant_scope(tenant_id) as tx:
        request = data_rights.request_rights(tx, registration["email"], "access")
    return {"invite": invite, "panelist": panelist, "reset": sent[-1],
            "confirm": links.make_token(tenant_id, registration["id"], "confirm"),
            "unsubscribe": links.make_token(tenant_id, registration["id"], "unsubscribe"),
            "data_request": data_rights.make_token(tenant_id, request["id"])}, {"registration": registration,
                                                                               "data_request": request}


def paying_tenant(tenant, word: str) -> None:
    """A trial approved onto the Standard plan by a platform admin, with a billing contact."""
    admin, _ = create_admin(f"ops-{uuid.uuid4().hex[:6]}@townhall.example")
    platform.change_state(admin, tenant.id, "approve", plan="standard")
    platform.set_billing(admin, tenant.id, billing_email=f"{word}-billing@b.police.uk", po_number=f"{word} PO")


def last_months_invoice(tenant) -> dict:
    """The worker's monthly run for this tenant: usage rollup, invoice and lines, its mail."""
    now = datetime.now(timezone.utc)
    return billing_jobs.invoice_tenant(tenant.id, billing_jobs.previous_month(now), now)


def spoken_wav() -> bytes:
    """One second of a 440 Hz tone, 16-bit PCM: a recording the upload check accepts."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", 8000 if (n // 9) % 2 else -8000) for n in range(8000)))
    return out.getvalue()


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 100), (11, 79, 108)).save(out, "PNG")
    return out.getvalue()


def attach_recording(tx, world: RoomWorld, title: str, captions: str) -> dict:
    upload, size = media_actions.receive(io.BytesIO(spoken_wav()), 10 * 1024 * 1024)
    media = media_actions.attach_media(tx, world.admin, world.room["id"], title=title, upload=upload, size=size)
    return media_actions.save_captions(tx, world.admin, media["id"], f"WEBVTT\n\n00:00.000 --> 00:00.900\n{captions}\n")


def closed_room_with_transcript(world: RoomWorld, word: str) -> RoomWorld:
    """A chat that has finished (its room.live and room.closed webhooks queued) and its transcript."""
    closed = another_room(world, "closed", title=f"{word} closed chat")
    assert build_and_store(world.tenant.id, closed.room["id"]) == "stored"
    return closed


def furnish(world: RoomWorld, pub: str, priv: str, *, question: dict, poll: dict, participant: dict) -> Estate:
    """Give the tenant a row in every table the features since issue 10 added. `pub` marks text
    anyone may see (names of public things), `priv` text only the tenant's staff may see."""
    tenant_id, admin = world.tenant.id, world.admin
    links, made = email_links(world, priv)
    with tenant_scope(tenant_id) as tx:
        registrations.confirm(tx, links["confirm"])   # schedules its reminders
        token, _ = api_tokens.create_token(tx, admin, f"{priv} token", ["read", "write"])
        endpoint = webhooks.create_endpoint(tx, admin, f"https://{priv}.example/hook", list(webhooks.EVENTS),
                                            production=False)
        engagement_settings.update(tx, admin, load(engagement_settings.EngagementSettingsSchema,
                                                   {"escalation_email": f"{priv}-centre@b.police.uk"}))
        escalated = live_actions.submit_question(tx, participant, f"{priv} escalated question")
        live_actions.escalate_question(tx, world.moderator, escalated["id"], f"{priv} note")
        area = neighbourhoods.create_neighbourhood(tx, admin, f"{pub} neighbourhood")
        neighbourhoods.target(tx, admin, area["id"], world.room["id"])
        theme = themes.create_theme(tx, admin, f"{priv} theme", "priority")
        themes.tag_question(tx, admin, question["id"], [theme["id"]])
        themes.tag_poll(tx, admin, poll["id"], [theme["id"]])
        data_rights.link(tx, made["registration"]["id"], participant["id"])
        presence.record_connect(LiveIdentity(tenant_id, world.room["id"], "resident", participant["id"]))
        media = attach_recording(tx, world, f"{pub} recording", f"{pub} caption")
        caption_actions.record_final(tx, world.room["id"], 0, 16000, f"{pub} live caption", "moonshine-tiny-en")
        logo = branding.set_logo(tx, admin, logo_png())
    presence.flush_metering()   # the live process writes connection rows in batches
    closed = closed_room_with_transcript(world, pub)
    invoice = last_months_invoice(world.tenant)
    with tenant_scope(tenant_id) as tx:
        export = exports_module.request_export(tx, admin.email)
    assert exports_module.run_export(tenant_id, export["id"]) == "ready"
    ids = {"token_id": [token["id"]], "endpoint_id": [endpoint["id"]], "request_id": [made["data_request"]["id"]],
           "neighbourhood_id": [area["id"]], "theme_id": [theme["id"]],
           "media_id": [media["id"]], "invoice_id": [invoice["id"]], "export_id": [export["id"]],
           "tenant_id": [tenant_id], "logo_sha": [logo], "neighbourhood_slug": [area["slug"]],
           "tenant_slug": [world.tenant.slug], "short_code": [closed.room["short_code"]],
           "closed_room_id": [closed.room["id"]]}
    return Estate({k: [str(v) for v in vs] for k, vs in ids.items()}, links)
