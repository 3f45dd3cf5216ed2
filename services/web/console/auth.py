"""The signed-in staff member for console requests (a session row behind a random cookie).

`staff_required` also enforces the two rules that hold on every console page: an admin without
TOTP is sent to set it up first, and a panelist reaches only the pages of their own chats.
"""
from __future__ import annotations

from dataclasses import replace
from functools import wraps

from flask import g, redirect, request, url_for

from services.web.request_info import client_ip
from tenants.auth import SESSION_LIFETIME, Staff, staff_for_session
from tenants.db import tenant_scope
from tenants.errors import Forbidden
from tenants.resolution import HOST_SLUG_KEY

COOKIE = "th_staff"
PANELIST_ENDPOINTS = frozenset({"console.dashboard", "console.host", "console.command", "console.sign_out"})


def cookie_path() -> str:
    """Per-tenant cookie: `/t/<slug>/` in path mode, `/` on the tenant's own host."""
    return "/" if request.environ.get(HOST_SLUG_KEY) else f"/t/{g.tenant.slug}/"


def session_token() -> str | None:
    return request.cookies.get(COOKIE)


def set_session_cookie(response, token: str):
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", path=cookie_path(),
                        secure=request.is_secure, max_age=int(SESSION_LIFETIME.total_seconds()))
    return response


def clear_session_cookie(response):
    response.delete_cookie(COOKIE, path=cookie_path())
    return response


def current_staff() -> Staff | None:
    if "staff" not in g:
        with tenant_scope(g.tenant.id) as tx:
            staff = staff_for_session(tx, session_token())
        g.staff = replace(staff, ip=client_ip()) if staff else None
    return g.staff


def on_this_site(target: str) -> bool:
    r"""A path on this site. Browsers drop tabs and newlines from a URL and read a backslash as a
    slash, so "/\t/evil.example" and "/\\evil.example" would leave it: no control characters,
    spaces or backslashes, and not "//"."""
    return (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target))


def safe_next(default: str) -> str:
    target = request.values.get("next", "")
    return target if on_this_site(target) else default


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        staff = current_staff()
        if staff is None:
            return redirect(url_for("console.sign_in", next=request.full_path))
        if staff.role == "admin" and not staff.mfa_enabled:
            return redirect(url_for("console.totp_setup", next=request.full_path))
        if staff.role == "panelist" and request.endpoint not in PANELIST_ENDPOINTS:
            raise Forbidden("Panelists can only open the chats they are invited to.")
        return view(*args, **kwargs)
    return wrapper
