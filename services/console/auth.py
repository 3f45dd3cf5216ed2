"""The signed-in staff member for console requests (a session row behind a random cookie)."""
from __future__ import annotations

from dataclasses import replace
from functools import wraps

from flask import g, redirect, request, url_for

from services.request_info import client_ip
from tenants.auth import Staff, staff_for_session
from tenants.db import tenant_scope
from tenants.resolution import HOST_SLUG_KEY

COOKIE = "th_staff"


def cookie_path() -> str:
    """Per-tenant cookie: `/t/<slug>/` in path mode, `/` on the tenant's own host."""
    return "/" if request.environ.get(HOST_SLUG_KEY) else f"/t/{g.tenant.slug}/"


def current_staff() -> Staff | None:
    if "staff" not in g:
        with tenant_scope(g.tenant.id) as tx:
            staff = staff_for_session(tx, request.cookies.get(COOKIE))
        g.staff = replace(staff, ip=client_ip()) if staff else None
    return g.staff


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_staff() is None:
            return redirect(url_for("console.sign_in", next=request.full_path))
        return view(*args, **kwargs)
    return wrapper
