"""English and Welsh (Flask-Babel).

The language of a request: `?lang=` (remembered in the `lang` cookie), else the cookie, else the
browser's Accept-Language, else the tenant's first language; always one of the tenant's
languages (tenant settings `languages`, default ["en"]). Catalogues live in
services/translations/<lang>/LC_MESSAGES/messages.po and are compiled to .mo when the app starts
if the .mo is missing or older (into a temporary folder when the package folder is read-only),
so no build step can be forgotten; `make translations` does the same with pybabel.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, has_request_context, request
from flask_babel import Babel, get_locale, gettext
from markupsafe import Markup

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
LANGUAGES = {"en": "English", "cy": "Cymraeg"}
HTML_LANG = {"en": "en-GB", "cy": "cy"}
COOKIE = "lang"
babel = Babel()


def compile_catalogues(source: Path = TRANSLATIONS) -> Path:
    """Compiles every stale messages.po to messages.mo; returns the folder holding the .mo files."""
    target = source
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            _compile(po, mo)
        except OSError:  # read-only image: compile everything into a temporary folder instead
            target = Path(tempfile.mkdtemp(prefix="townhall-translations-"))
            for each in source.glob("*/LC_MESSAGES/messages.po"):
                out = target / each.relative_to(source).with_suffix(".mo")
                out.parent.mkdir(parents=True, exist_ok=True)
                _compile(each, out)
            break
    return target


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as f:
        catalog = read_po(f)
    tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")   # processes starting together each write their own
    with tmp.open("wb") as f:
        write_mo(f, catalog, use_fuzzy=False)
    tmp.replace(mo)


def N_(message: str) -> str:
    """Marks an English message for the catalogue (`make translations`) without translating it: for one
    shared with the API, which stays English; an error page translates it (services/web/errors.py)."""
    return message


def reader_sentence(exc) -> str:
    """A domain error's sentence in the reader's language: domain code raises in English (marked
    with N_ so the catalogue has it), and a resident's page or socket shows the translation."""
    return gettext(str(exc.sentence))


def tenant_languages() -> list[str]:
    """The languages the current tenant offers (English only when it has not chosen)."""
    if "tenant_languages" not in g:
        tenant = getattr(g, "tenant", None)
        chosen = ["en"]
        if tenant is not None:
            from services.lib.tenant_settings import tenant_settings

            wanted = tenant_settings().get("languages") or ["en"]
            chosen = [lang for lang in wanted if lang in LANGUAGES] or ["en"]
        g.tenant_languages = chosen
    return g.tenant_languages


def _allowed() -> list[str]:
    return tenant_languages() if getattr(g, "tenant", None) is not None else list(LANGUAGES)


# Staff pages are written in English only: a Welsh cookie from the resident pages must not make
# them say lang="cy" over English text (WCAG 3.1.1).
STAFF_BLUEPRINTS = frozenset({"console", "engagement_console", "media_console", "transcripts_console",
                              "api_console", "platform"})


def select_locale() -> str:
    if not has_request_context():  # workers and scripts: English unless force_locale says otherwise
        return "en"
    if request.blueprint in STAFF_BLUEPRINTS:
        return "en"
    allowed = _allowed()
    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if candidate in allowed:
            return candidate
    return request.accept_languages.best_match(allowed) or allowed[0]


def offered_language(requested: str | None) -> str | None:
    """`requested` when the current tenant offers it (None stays None, meaning "the default");
    otherwise ValidationFailed naming the languages it does offer."""
    if requested is None:
        return None
    offered = tenant_languages()
    if requested not in offered:
        from tenants.errors import ValidationFailed

        raise ValidationFailed(f"language: use one of this organisation's languages ({', '.join(offered)}).",
                               field="language")
    return requested


def reading_language(posted: str | None) -> str:
    """The language a resident is reading in: the one their page posted (the embed has no cookie
    to carry it) when the tenant offers it, else the request's own."""
    return posted if posted in tenant_languages() else current_lang()


def current_lang() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def localized(row: dict, field: str) -> str:
    """A room's field in the page's language: `title_cy` in Welsh when it has one."""
    if current_lang() == "cy" and row.get(f"{field}_cy"):
        return row[f"{field}_cy"]
    return row.get(field) or ""


def switch_url(lang: str) -> str:
    args = request.args.to_dict()
    args["lang"] = lang
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args)}"


def js_strings(strings: dict[str, str]) -> Markup:
    """A JSON data block for scripts (not executed, so the CSP allows it); `<` is escaped."""
    text = json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup('<script type="application/json" id="i18n">') + Markup(text) + Markup("</script>")


def init_app(app) -> None:
    folder = compile_catalogues()
    babel.init_app(app, locale_selector=select_locale, default_locale="en",
                   default_translation_directories=str(folder))

    @app.context_processor
    def language_context():
        if not has_request_context():
            return {}
        lang = current_lang()
        offered = _allowed() if getattr(g, "tenant", None) is not None else ["en"]
        return {"page_lang": HTML_LANG.get(lang, "en-GB"), "lang": lang, "languages": LANGUAGES,
                "offered_languages": offered, "switch_url": switch_url, "localized": localized,
                "js_strings": js_strings}

    @app.after_request
    def remember_choice(response):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen and getattr(g, "tenant", None) is not None \
                and chosen in _allowed():
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                                secure=request.is_secure)
        response.vary.add("Cookie")
        response.vary.add("Accept-Language")
        return response
