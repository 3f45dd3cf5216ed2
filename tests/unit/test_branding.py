"""Colour contrast (WCAG 2 relative luminance) and logo re-encoding, without a database."""
from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from tenants.branding import (AA_RATIO, TEXT_ON_ACCENT, TEXT_ON_PRIMARY, check_colours, contrast, process_logo,
                              shown_ratio, suggest)
from tenants.errors import ValidationFailed


def test_contrast_matches_the_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert shown_ratio(contrast("#767676", "#ffffff")) == "4.54:1"     # the classic lightest AA grey
    assert shown_ratio(4.4999) == "4.49:1"                               # never rounded up into a pass


def test_failing_colours_are_refused_with_the_ratio_and_a_passing_suggestion():
    with pytest.raises(ValidationFailed) as refused:
        check_colours({"primary": "#ffcc00", "accent": "#333333"})
    fields = refused.value.details["fields"]
    assert "#ffcc00 with white text has a contrast ratio of 1.51:1" in fields["primary"][0]
    assert "WCAG AA needs at least 4.5:1" in fields["primary"][0]
    assert "with dark text (#0b0c0c) has a contrast ratio of 1.5" in fields["accent"][0]
    for field, text in (("primary", TEXT_ON_PRIMARY), ("accent", TEXT_ON_ACCENT)):
        suggestion = fields[field][0].split("Try ")[1].split(" ")[0]
        assert contrast(suggestion, text) >= AA_RATIO
    assert suggest("#ffcc00", TEXT_ON_PRIMARY) != "#000000"           # a shade of the colour, not plain black


def test_good_colours_are_normalised_and_malformed_ones_explained():
    assert check_colours({"primary": "#1D3B6F", "accent": "fb4"}) == {"primary": "#1d3b6f", "accent": "#ffbb44"}
    with pytest.raises(ValidationFailed, match="hex code"):
        check_colours({"primary": "blue;}body{display:none", "accent": "#ffbf47"})


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    out = io.BytesIO()
    Image.new("RGBA", (2400, 600), (29, 59, 111, 255)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (300, 200), (200, 10, 10))
    exif = image.getexif()
    exif[0x010F] = "SpyCam"          # Make
    exif[0x0112] = 6                 # Orientation: rotate 90° on display
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"where I live")
    return out.getvalue()


def test_logos_are_re_encoded_to_png_without_metadata():
    png, width, height = process_logo(_png_with_text())
    stored = Image.open(io.BytesIO(png))
    assert stored.format == "PNG" and (width, height) == (1200, 300) == stored.size
    assert b"Secret Person" not in png and not stored.info.get("Author")

    png, width, height = process_logo(_jpeg_with_exif())
    stored = Image.open(io.BytesIO(png))
    assert stored.format == "PNG" and (width, height) == (200, 300)   # turned upright, then EXIF dropped
    assert b"SpyCam" not in png and b"where I live" not in png and not stored.getexif()


@pytest.mark.parametrize("data, message", [
    (b"", "Choose a PNG or JPEG"),
    (b"GIF89a" + b"\0" * 100, "PNG or JPEG image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "including SVG"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "could not read"),
    (b"\xff\xd8\xff" + b"\0" * (1024 * 1024), "1 MB or smaller; this file is 1.0 MB"),
])
def test_bad_uploads_are_refused_with_what_to_fix(data, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        process_logo(data)
    assert refused.value.field == "logo"
