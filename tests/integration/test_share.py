"""QR codes, the A4 poster and the short link: the printed code decodes to the room link."""
from __future__ import annotations

import io
import re

import pypdfium2
import zxingcpp
from PIL import Image

from tenants.db import tenant_scope


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def short_link_of(client, world) -> str:
    html = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").text
    return re.search(r'<link rel="shortlink" href="([^"]+)"', html).group(1)


def test_qr_codes_decode_to_the_short_link_which_leads_to_the_room(app_ctx, make_world, client):
    world = make_world(state="scheduled")
    base = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    link = short_link_of(client, world)
    assert re.fullmatch(r"http://localhost/r/[a-z0-9]{10}", link), link

    png = client.get(f"{base}/qr.png")
    assert png.mimetype == "image/png"
    assert decode(Image.open(io.BytesIO(png.data))) == [link]

    svg = client.get(f"{base}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data and b"<title>QR code for Ask the Commissioner" in svg.data

    followed = client.get(link.removeprefix("http://localhost"))
    assert followed.status_code == 302
    assert followed.headers["Location"].endswith(base)
    assert client.get("/r/0000000000").status_code == 404
    assert client.get("/r/bad-code!").status_code == 404


def test_poster_pdf_renders_with_title_time_and_a_qr_that_decodes(app_ctx, make_world, client):
    world = make_world(state="scheduled", title="Ŵyl y Gwanwyn: policing the spring fair", area="Tywyn")
    response = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = pypdfium2.PdfDocument(response.data)
    assert len(pdf) == 1
    page = pdf[0]
    width, height = page.get_size()
    assert (round(width), round(height)) == (595, 842), "A4 portrait"
    text = " ".join(page.get_textpage().get_text_range().split())
    assert "Ŵyl y Gwanwyn: policing the spring fair" in text, "title (with Welsh letters) is on the poster"
    assert "Join the webchat" in text and "Tywyn" in text
    link = short_link_of(client, world)
    assert link.split("://", 1)[1] in text
    image = page.render(scale=2).to_pil()
    assert decode(image) == [link]


def test_draft_rooms_have_no_short_link_qr_or_poster(app_ctx, make_world, client):
    world = make_world(state="draft")
    with tenant_scope(world.tenant.id) as tx:
        code = tx.value("select short_code from rooms where id = %s", [world.room["id"]])
    assert client.get(f"/r/{code}").status_code == 404
    for kind in ("qr.png", "qr.svg", "poster.pdf"):
        assert client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/{kind}").status_code == 404


def test_room_page_carries_share_metadata(app_ctx, make_world, client):
    world = make_world(description="Ask about <patrols> & parking.")
    html = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").text
    assert '<meta property="og:title" content="Ask the Commissioner">' in html
    assert '<meta property="og:description" content="Ask about &lt;patrols&gt; &amp; parking.">' in html
    assert f'<meta property="og:url" content="http://localhost/t/{world.tenant.slug}/rooms/{world.room["id"]}">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<meta property="og:locale" content="en_GB">' in html


def test_another_tenants_room_is_not_found_on_every_reach_page(app_ctx, make_world, client):
    mine, theirs = make_world(), make_world()
    for page in ("", "/embed", "/screen", "/qr.png", "/qr.svg", "/poster.pdf", "/calendar.ics"):
        response = client.get(f"/t/{mine.tenant.slug}/rooms/{theirs.room['id']}{page}")
        assert response.status_code == 404, page
    refused = client.post(f"/t/{mine.tenant.slug}/rooms/{theirs.room['id']}/embed/join", data={"display_name": "X"})
    assert refused.status_code == 404
    with tenant_scope(theirs.tenant.id) as tx:
        assert tx.value("select count(*) from participants") == 0, "nothing was written"


def test_embed_ask_without_a_valid_token_changes_nothing(app_ctx, make_world, client):
    world, other = make_world(), make_world()
    other_resident = other.join("Elsewhere")
    url = f"/t/{world.tenant.slug}/rooms/{world.room['id']}/embed/ask"
    for token in ("", "forged", other.resident_token(other_resident), world.token("viewer")):
        page = client.post(url, data={"live_token": token, "body": "Sneaky question"})
        assert page.status_code == 200 and "Join the chat with a display name before asking." in page.text
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from questions") == 0
