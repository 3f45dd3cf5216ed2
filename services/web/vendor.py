"""Serves third-party front-end files installed from npm (never committed) under /vendor/."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

ROOT = Path(__file__).resolve().parents[2] / "node_modules"
FILES = {
    "socket.io.min.js": ROOT / "socket.io-client" / "dist",
    "socket.io.min.js.map": ROOT / "socket.io-client" / "dist",
}

bp = Blueprint("vendor", __name__)


@bp.get("/vendor/<name>")
def vendor_file(name: str):
    folder = FILES.get(name)
    if folder is None or not (folder / name).exists():
        abort(404)
    return send_from_directory(folder, name, max_age=86400)
