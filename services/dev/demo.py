"""The demo tenant for `townhall dev`: a tenant, three staff logins and a live room (idempotent)."""
from __future__ import annotations

import os

from datetime import datetime, timedelta, timezone

from services.rooms import actions as room_actions
from tenants.auth import create_staff
from tenants.db import tenant_scope
from tenants.provisioning import create_tenant
from tenants.resolution import tenant_by_slug

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-password-123"
DEMO_STAFF = [
    ("admin@demo.police.uk", "Alex Admin", "admin", "Head of Communications"),
    ("pcc@demo.police.uk", "Pat Commissioner", "host", "Police and Crime Commissioner"),
    ("moderator@demo.police.uk", "Morgan Moderator", "moderator", "Engagement Officer"),
]


def seed() -> list[str]:
    tenant = tenant_by_slug(DEMO_SLUG)
    lines = []
    if tenant is None:
        tenant = create_tenant(slug=DEMO_SLUG, name="Demoshire Police and Crime Commissioner", state="active")
        with tenant_scope(tenant.id) as tx:
            staff = [create_staff(tx, email=e, display_name=n, role=r, title=t, password=DEMO_PASSWORD)
                     for e, n, r, t in DEMO_STAFF]
            start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
            room = room_actions.create_room(tx, staff[0], {
                "title": "Ask the Commissioner: the 2027 precept",
                "description": "Put your questions to the Police and Crime Commissioner about next year's policing budget.",
                "starts_at": start, "ends_at": start + timedelta(hours=2), "tags": ["precept", "budget"],
                "area": "Force-wide", "welcome_text": "Welcome! Questions are read by a moderator before they appear.",
                "slow_mode_seconds": 5,
            })
            room_actions.change_state(tx, staff[1], room["id"], "live")
        lines.append("created the demo tenant")
    base = os.environ.get("PUBLIC_URL", "http://localhost:5000")
    lines.append(f"demo tenant: {base}/t/demo/   (staff console: {base}/t/demo/console/)")
    lines.extend(f"  {role:<9} {email}  password: {DEMO_PASSWORD}" for email, _, role, _ in DEMO_STAFF)
    lines.append("  (admins set up two-step verification with an authenticator app at first sign-in)")
    return lines
