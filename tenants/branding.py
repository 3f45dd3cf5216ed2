"""Tenant branding and settings: colours checked for WCAG AA contrast, the logo re-encoded,
texts and defaults kept in `tenants.settings`. Only an admin may change them (`settings.edit`).

Colours are used with fixed text colours (white on the primary colour, and the primary colour as
link text on white; near-black #0b0c0c on the accent colour), so each colour is checked against
its text, and a refused colour comes with the measured ratio and the nearest shade that passes.
"""
from __future__ import annotations

import hashlib
import io
import math

from PIL import Image, ImageOps, UnidentifiedImageError
from psycopg.types.json import Jsonb

from tenants import audit
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import ValidationFailed
from tenants.roles import require

AA_RATIO = 4.5
TEXT_ON_PRIMARY = "#ffffff"
TEXT_ON_ACCENT = "#0b0c0c"
DEFAULT_PRIMARY = "#1d3b6f"
DEFAULT_ACCENT = "#ffbf47"
MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 25_000_000          # refuse decompression bombs before decoding
LOGO_BOX = (1200, 400)                # stored at most this size (shown at 48 px high; sharp on dense screens)
DEFAULTS = {
    "brand": {"primary": DEFAULT_PRIMARY, "accent": DEFAULT_ACCENT, "logo": None, "version": 0},
    "welcome_text": "", "footer_links": [], "privacy_url": "", "signposting_text": "",
    "room_defaults": {"mode": "moderated", "votes_enabled": True, "slow_mode_seconds": 30},
    "retention_days": 90, "recordings_retention_days": None, "languages": ["en"], "embed_domains": [],
}


# --- contrast -------------------------------------------------------------------------------

def parse_hex(value: str) -> tuple[int, int, int] | None:
    text = (value or "").strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        return None
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return None


def to_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(parse_hex(a)), _luminance(parse_hex(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def shown_ratio(ratio: float) -> str:
    """Rounded down, so 4.496 never reads as a pass."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"


def suggest(colour: str, text: str) -> str:
    """The nearest shade of `colour` (towards black for light text, towards white for dark text) that passes."""
    rgb = parse_hex(colour)
    target = 0 if _luminance(parse_hex(text)) > 0.5 else 255
    for step in range(1, 101):
        t = step / 100
        candidate = to_hex(tuple(round(c + (target - c) * t) for c in rgb))
        if contrast(candidate, text) >= AA_RATIO:
            return candidate
    return "#000000" if target == 0 else "#ffffff"


def check_colours(colours: dict[str, str]) -> dict[str, str]:
    """{field: normalised hex}; raises ValidationFailed naming each failing colour, its ratio and a fix."""
    texts = {"primary": (TEXT_ON_PRIMARY, "white text"), "accent": (TEXT_ON_ACCENT, "dark text (#0b0c0c)")}
    problems: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for field, value in colours.items():
        rgb = parse_hex(value)
        if rgb is None:
            problems[field] = ["Enter a colour as a hex code, for example #1d3b6f."]
            continue
        clean[field] = to_hex(rgb)
        text, described = texts[field]
        ratio = contrast(clean[field], text)
        if ratio < AA_RATIO:
            fix = suggest(clean[field], text)
            problems[field] = [f"{clean[field]} with {described} has a contrast ratio of {shown_ratio(ratio)}; "
                               f"WCAG AA needs at least 4.5:1. Try {fix} ({shown_ratio(contrast(fix, text))})."]
    if problems:
        field, messages = next(iter(problems.items()))
        raise ValidationFailed(messages[0], field=field, details={"fields": problems})
    return clean


# --- the logo -------------------------------------------------------------------------------

def _too_big(size: int) -> ValidationFailed:
    return ValidationFailed(f"The logo must be 1 MB or smaller; this file is {size / 1024 / 1024:.1f} MB.",
                            field="logo")


def process_logo(data: bytes) -> tuple[bytes, int, int]:
    """Check size and type, then re-encode as a fresh PNG: no EXIF, text chunks or colour profile survive."""
    if not data:
        raise ValidationFailed("Choose a PNG or JPEG file to upload.", field="logo")
    if len(data) > MAX_LOGO_BYTES:
        raise _too_big(len(data))
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise ValidationFailed("Upload a PNG or JPEG image (other types, including SVG, are not accepted).",
                               field="logo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG"):
                raise UnidentifiedImageError
            if image.width * image.height > MAX_LOGO_PIXELS:
                raise ValidationFailed("That image is too large in pixels: use one under 5000 by 5000.", field="logo")
            image.load()
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise ValidationFailed("We could not read that image: save it again as PNG or JPEG and retry.",
                               field="logo") from None
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    clean = Image.frombytes(image.mode, image.size, image.tobytes())   # pixels only: no metadata at all
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue(), clean.width, clean.height


# --- settings -------------------------------------------------------------------------------

def tenant_settings(tx: Tx) -> dict:
    stored = tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}
    merged = {**DEFAULTS, **stored}
    for key in ("brand", "room_defaults"):
        merged[key] = {**DEFAULTS[key], **stored.get(key, {})}
    return merged


def _save(tx: Tx, changes: dict, *, name: str | None = None, bump_brand: bool = False) -> None:
    if bump_brand:
        brand = {**tenant_settings(tx)["brand"], **changes.get("brand", {})}
        brand["version"] = int(brand.get("version") or 0) + 1
        changes = {**changes, "brand": brand}
    tx.execute("update tenants set settings = settings || %s, name = coalesce(%s, name), updated_at = now()"
               " where id = %s", [Jsonb(changes), name, tx.tenant_id])


def update_branding(tx: Tx, staff: Staff, data: dict) -> dict:
    """Organisation name, colours, welcome text, footer links, privacy link, default signposting."""
    require(staff.role, "settings.edit")
    colours = check_colours({"primary": data["primary"], "accent": data["accent"]})
    before = tenant_settings(tx)
    changes = {"brand": {**before["brand"], **colours}, "welcome_text": data["welcome_text"],
               "footer_links": data["footer_links"], "privacy_url": data["privacy_url"],
               "signposting_text": data["signposting_text"]}
    _save(tx, changes, name=data["organisation"], bump_brand=True)
    changed = sorted(k for k in ("welcome_text", "footer_links", "privacy_url", "signposting_text")
                     if before.get(k) != changes[k])
    changed += [f"brand.{k}" for k in colours if before["brand"].get(k) != colours[k]]
    audit.record_staff(tx, staff, "settings.branding_updated", "tenant", tx.tenant_id,
                       {"changed": changed, **colours, "name": data["organisation"]})
    return tenant_settings(tx)


def update_defaults(tx: Tx, staff: Staff, data: dict) -> dict:
    """Default room options, the retention periods (personal data; recordings, None: kept with the
    transcript) and the languages offered."""
    require(staff.role, "settings.edit")
    before = tenant_settings(tx)
    changes = {"room_defaults": {k: data[k] for k in ("mode", "votes_enabled", "slow_mode_seconds")},
               "retention_days": data["retention_days"],
               "recordings_retention_days": data.get("recordings_retention_days"), "languages": data["languages"]}
    _save(tx, changes)
    audit.record_staff(tx, staff, "settings.defaults_updated", "tenant", tx.tenant_id,
                       {k: v for k, v in changes.items() if before.get(k) != v})
    return tenant_settings(tx)


def update_embed_domains(tx: Tx, staff: Staff, data: dict) -> dict:
    """The websites allowed to show the tenant's chats in a frame (checked origins, in order)."""
    require(staff.role, "settings.edit")
    before = tenant_settings(tx)["embed_domains"]
    after = data["embed_domains"]
    _save(tx, {"embed_domains": after})
    audit.record_staff(tx, staff, "settings.embed_domains_updated", "tenant", tx.tenant_id,
                       {"added": [o for o in after if o not in before], "removed": [o for o in before if o not in after],
                        "embed_domains": after})
    return tenant_settings(tx)


def set_logo(tx: Tx, staff: Staff, upload: bytes) -> str:
    require(staff.role, "settings.edit")
    png, width, height = process_logo(upload)
    digest = hashlib.sha256(png).hexdigest()[:32]
    tx.execute("insert into tenant_logos (tenant_id, png, sha256, width, height) values (%s, %s, %s, %s, %s)"
               " on conflict (tenant_id) do update set png = excluded.png, sha256 = excluded.sha256,"
               " width = excluded.width, height = excluded.height, updated_at = now()",
               [tx.tenant_id, png, digest, width, height])
    _save(tx, {"brand": {"logo": digest}}, bump_brand=True)
    audit.record_staff(tx, staff, "settings.logo_uploaded", "tenant", tx.tenant_id,
                       {"bytes_in": len(upload), "bytes_stored": len(png), "width": width, "height": height})
    return digest


def remove_logo(tx: Tx, staff: Staff) -> None:
    require(staff.role, "settings.edit")
    tx.execute("delete from tenant_logos where tenant_id = %s", [tx.tenant_id])
    _save(tx, {"brand": {"logo": None}}, bump_brand=True)
    audit.record_staff(tx, staff, "settings.logo_removed", "tenant", tx.tenant_id)
