"""The mail seam against a real SMTP server (the aiosmtpd sink)."""
from __future__ import annotations

import pytest

from tenants.errors import Unavailable
from tenants.notify import send_email


def test_send_email_delivers_text_and_html_to_the_sink(app_ctx, smtp_sink):
    send_email("someone@force.police.uk", "Hello from Townhall", "Plain body https://example.test/x",
               html="<p>HTML body</p>")
    message = smtp_sink.wait_for("someone@force.police.uk", "Hello from Townhall")
    assert message["From"] == app_ctx.config["TOWNHALL"].mail_from
    assert smtp_sink.text(message).strip() == "Plain body https://example.test/x"
    assert "<p>HTML body</p>" in message.get_body(preferencelist=("html",)).get_content()
    assert smtp_sink.link("someone@force.police.uk", "hello") == "https://example.test/x"


def test_an_unreachable_smtp_server_is_a_clear_unavailable_error(app, config):
    from tests.support.servers import free_port

    broken = app.config["TOWNHALL"]
    app.config["TOWNHALL"] = config.with_overrides(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    try:
        with app.app_context(), pytest.raises(Unavailable, match="could not send the email"):
            send_email("x@force.police.uk", "s", "t")
    finally:
        app.config["TOWNHALL"] = broken
