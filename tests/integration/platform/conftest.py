from __future__ import annotations

import uuid

import pyotp
import pytest

from tenants.db import unscoped
from tenants.platform_auth import PlatformAdmin, create_admin


@pytest.fixture()
def platform_admin(app_ctx) -> tuple[PlatformAdmin, str, str]:
    """A platform admin with TOTP set up: (admin, password, totp secret)."""
    admin, password = create_admin(f"ops-{uuid.uuid4().hex[:6]}@townhall.example")
    secret = pyotp.random_base32()
    with unscoped() as tx:
        tx.execute("update platform_admins set totp_secret = %s where id = %s", [secret, admin.id])
    return admin, password, secret
