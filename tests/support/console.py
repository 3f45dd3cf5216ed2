"""Driving the staff console through Flask's test client: sign-in with TOTP, reading links."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pyotp

from tenants.db import tenant_scope

PASSWORD = "correct-horse-battery"


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """A code for now (or the next step: each code works once, and one step of drift is allowed)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time() // totp.interval) + steps_ahead)


def enable_totp(tenant, staff) -> str:
    secret = pyotp.random_base32()
    with tenant_scope(tenant.id) as tx:
        tx.execute("update staff_users set totp_secret = %s, totp_last_counter = 0 where id = %s", [secret, staff.id])
    return secret


def console(tenant, path: str = "") -> str:
    return f"/t/{tenant.slug}/console/{path}"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(client, tenant, email: str, password: str = PASSWORD, secret: str | None = None, steps_ahead: int = 0):
    """Password, then the code if asked; returns the last response."""
    response = client.post(console(tenant, "sign-in"), data={"email": email, "password": password})
    if secret and response.status_code == 302 and "/sign-in/code" in response.location:
        response = client.post(path_of(response.location), data={"code": totp_code(secret, steps_ahead)})
    return response


def admin_client(app, tenant, admin) -> tuple[object, str]:
    """A test client signed in as an admin who uses TOTP; returns (client, secret)."""
    secret = enable_totp(tenant, admin)
    client = app.test_client()
    response = sign_in(client, tenant, admin.email, secret=secret)
    assert response.status_code == 302 and response.location.endswith(console(tenant)), response.location
    return client, secret


def field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{field}-error"><span class="sr-only">Error: </span>(.*?)</p>',
                      html, re.S)
    return match.group(1) if match else None
