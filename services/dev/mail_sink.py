"""A local SMTP sink for development and tests (aiosmtpd): every message received is kept as an
`.eml` file in a folder, written atomically (temporary name, then rename), so a reader never
sees half a message. `townhall mail-sink` runs it; `/dev/mail` lists what it received."""
from __future__ import annotations

import email
import email.policy
import os
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


class FolderHandler:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        tmp = self.folder / f".{name}.tmp"
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        header = f"X-Sink-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        with open(tmp, "wb") as f:
            f.write(header + data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / f"{name}.eml")
        return "250 Message accepted for delivery"


def start_sink(folder: str | os.PathLike, host: str = "127.0.0.1", port: int = 8025):
    """Start the sink in a background thread; returns the aiosmtpd Controller (call .stop())."""
    from aiosmtpd.controller import Controller

    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


@dataclass(frozen=True)
class SunkMessage:
    name: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> str:
        return str(self.message["To"] or "")

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message.get_body(("html",))
        return part.get_content() if part else ""

    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())


def read_folder(folder: str | os.PathLike) -> list[SunkMessage]:
    """Messages in the order received (oldest first)."""
    path = Path(folder)
    if not path.is_dir():
        return []
    return [read_one(path, p.name) for p in sorted(path.glob("*.eml"))]


def read_one(folder: str | os.PathLike, name: str) -> SunkMessage | None:
    path = Path(folder) / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        return None
    with open(path, "rb") as f:
        return SunkMessage(name, email.message_from_binary_file(f, policy=email.policy.default))
