"""A tenant's look on every resident page: `/t/<slug>/brand.css` (CSS custom properties: the
CSP forbids inline styles), the logo, and template helpers for the footer and header."""
from __future__ import annotations

import hashlib

from flask import abort, g, make_response, request, url_for

from services.web.errors import ERROR_PAGE_FLAG
from services.web.tenant_routes import tenant_blueprint
from tenants.branding import DEFAULT_ACCENT, DEFAULT_PRIMARY, DEFAULTS, parse_hex, tenant_settings, to_hex
from tenants.db import tenant_scope
from tenants.errors import Unavailable

bp = tenant_blueprint("branding", __name__)
YEAR = 365 * 24 * 3600
ENVIRON_KEY = "townhall.branding"


def brand_css(primary: str, accent: str, selector: str = ":root") -> str:
    """Only ever well-formed hex colours reach the stylesheet."""
    primary = to_hex(parse_hex(primary) or parse_hex(DEFAULT_PRIMARY))
    accent = to_hex(parse_hex(accent) or parse_hex(DEFAULT_ACCENT))
    return f"{selector} {{ --brand-primary: {primary}; --brand-accent: {accent}; }}\n"


def css_response(css: str, *, immutable: bool):
    response = make_response(css)
    response.mimetype = "text/css"
    response.cache_control.public = True
    response.cache_control.max_age = YEAR if immutable else 60
    if immutable:
        response.cache_control.immutable = True
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    return response.make_conditional(request)


def current_branding() -> dict:
    """The tenant's settings, read once per request. Only an error page falls back to the defaults
    when the database is unavailable; any other page fails with the 503 rather than show the
    tenant's residents the default colours and wording in place of their own."""
    cached = request.environ.get(ENVIRON_KEY)
    if cached is None or cached[0] != g.tenant.id:
        try:
            with tenant_scope(g.tenant.id) as tx:
                cached = (g.tenant.id, tenant_settings(tx))
        except Unavailable:
            if g.get(ERROR_PAGE_FLAG):
                return DEFAULTS
            raise
        request.environ[ENVIRON_KEY] = cached
    return cached[1]


@bp.app_template_global()
def branding() -> dict:
    settings = current_branding()
    logo = settings["brand"].get("logo")
    return {**settings, "logo_url": url_for("branding.logo", sha=logo) if logo else None}


@bp.app_template_global()
def brand_css_url() -> str:
    return url_for("branding.stylesheet", v=current_branding()["brand"]["version"])


@bp.get("/brand.css")
def stylesheet():
    brand = current_branding()["brand"]
    return css_response(brand_css(brand["primary"], brand["accent"]),
                        immutable=request.args.get("v") == str(brand["version"]))


@bp.get("/brand/logo-<sha>.png")
def logo(sha):
    with tenant_scope(g.tenant.id) as tx:
        png = tx.value("select png from tenant_logos where sha256 = %s", [sha[:64]])
    if png is None:
        abort(404)
    response = make_response(bytes(png))
    response.mimetype = "image/png"
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response
