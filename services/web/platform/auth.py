"""The signed-in platform admin: a session row behind its own cookie (`th_platform`, path
`/platform/`), separate from every tenant's staff cookie. The console is served only on the
platform host (BASE_DOMAIN itself or localhost); on a tenant's host it is a 404. Anyone without
a full platform session (a tenant admin included) gets 403 on every platform page and API."""
from __future__ import annotations

from dataclasses import replace
from functools import wraps

from flask import abort, g, request

from services.web.request_info import client_ip
from tenants.auth import SESSION_LIFETIME
from tenants.db import unscoped
from tenants.errors import Forbidden
from tenants.platform_auth import PlatformAdmin, admin_for_session
from tenants.resolution import HOST_SLUG_KEY

COOKIE = "th_platform"
PATH = "/platform/"
NOT_ADMIN = "This page is for Townhall platform administrators only. Platform administrators sign in at /platform/sign-in."


def platform_host_only() -> None:
    if request.environ.get(HOST_SLUG_KEY):
        abort(404)


def session_token() -> str | None:
    return request.cookies.get(COOKIE)


def set_cookie(response, token: str):
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path=PATH, secure=request.is_secure,
                        max_age=int(SESSION_LIFETIME.total_seconds()))
    return response


def clear_cookie(response):
    response.delete_cookie(COOKIE, path=PATH)
    return response


def current_admin() -> PlatformAdmin | None:
    if "platform_admin" not in g:
        with unscoped() as tx:
            admin = admin_for_session(tx, session_token())
        g.platform_admin = replace(admin, ip=client_ip()) if admin else None
    return g.platform_admin


def platform_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_admin() is None:
            raise Forbidden(NOT_ADMIN)
        return view(*args, **kwargs)
    return wrapper
