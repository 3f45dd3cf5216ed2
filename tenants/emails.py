"""The words of the emails staff and new tenants receive, and sending them after commit."""
from __future__ import annotations

from tenants import notify
from tenants.db import Tx

FOOTER = "\n\nIf you did not expect this email, you can ignore it: nothing happens unless the link is used.\n-- Townhall"


def send_after_commit(tx: Tx, to: str, subject: str, body: str) -> None:
    """Mail goes out only once the rows it talks about are committed."""
    tx.after_commit(lambda: notify.send_email(to, subject, body + FOOTER))


def signup_verification(organisation: str, name: str, link: str) -> tuple[str, str]:
    return (f"Confirm your Townhall sign-up for {organisation}",
            f"Hello {name},\n\nConfirm your email address to set up Townhall for {organisation}:\n\n{link}\n\n"
            "The link works once and expires in 24 hours. On that page you choose your password; "
            "you then become the first administrator.")


def staff_invitation(organisation: str, inviter: str, role: str, link: str) -> tuple[str, str]:
    return (f"You are invited to {organisation} on Townhall",
            f"Hello,\n\n{inviter} has invited you to join {organisation}'s Townhall console as {role}.\n\n"
            f"Accept the invitation and choose a password:\n\n{link}\n\nThe link works once and expires in 7 days.")


def password_reset(organisation: str, link: str) -> tuple[str, str]:
    return (f"Reset your Townhall password for {organisation}",
            f"Hello,\n\nSomeone (we hope you) asked to reset your password for {organisation}'s Townhall "
            f"console.\n\nChoose a new password here:\n\n{link}\n\n"
            "The link works once and expires in 1 hour. Resetting signs you out everywhere.")


def panelist_invitation(organisation: str, room_title: str, inviter: str, link: str) -> tuple[str, str]:
    return (f"Answer questions in \u201c{room_title}\u201d ({organisation})",
            f"Hello,\n\n{inviter} has asked you to be a panelist in \u201c{room_title}\u201d.\n\n"
            f"Open the chat's panelist page here (you do not need an account):\n\n{link}\n\n"
            "You will see the questions handed to you and can publish answers. The link is personal "
            "to you and expires in 7 days.")
