"""`/dev/mail`: what the local SMTP sink received (registered only when TOWNHALL_ENV=development)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from services.dev.mail_sink import read_folder, read_one

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")


def _folder() -> str:
    return current_app.config["TOWNHALL"].mail_sink_dir


@bp.get("/")
def inbox():
    messages = list(reversed(read_folder(_folder())))
    return render_template("dev/mail_list.html", messages=messages, folder=_folder())


@bp.get("/<name>")
def message(name):
    item = read_one(_folder(), name) or abort(404)
    return render_template("dev/mail_message.html", item=item)


@bp.get("/<name>/html")
def message_html(name):
    item = read_one(_folder(), name) or abort(404)
    # The message's own HTML, shown in a sandboxed frame: no scripts, no requests out.
    return item.html(), 200, {"Content-Type": "text/html; charset=utf-8",
                              "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline';"
                                                         " img-src data:; frame-ancestors 'self'"}
