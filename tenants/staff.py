"""Staff management: invitations, accepting them, roles, removal, and per-room panelists.

Every action takes the acting staff member and checks the role here (not only in templates).
Removing someone revokes their sessions and links in the same transaction, so their next
request (page or Socket.IO event) is refused.
"""
from __future__ import annotations

from datetime import timedelta

from tenants import audit, emails, links, plans
from tenants.auth import ROLES, Staff, _staff, revoke_sessions
from tenants.db import Tx
from tenants.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from tenants.passwords import check_password, hash_password
from tenants.roles import require

INVITE_LIFETIME = timedelta(days=7)
PANELIST_LINK_LIFETIME = timedelta(days=7)
ROLE_LABELS = {"admin": "an admin", "host": "a host", "moderator": "a moderator", "panelist": "a panelist"}


def list_staff(tx: Tx) -> list[dict]:
    return tx.all(
        "select u.id, u.email, u.display_name, u.title, u.role, u.status, u.invited_at, u.last_sign_in_at,"
        " u.totp_secret is not null as mfa_enabled,"
        " coalesce(array_agg(r.title order by r.title) filter (where r.id is not null), '{}') as rooms"
        " from staff_users u left join room_staff rs on rs.staff_id = u.id and rs.role = 'panelist'"
        " left join rooms r on r.id = rs.room_id where u.status <> 'removed'"
        " group by u.id order by u.role = 'panelist', u.display_name")


def _target(tx: Tx, staff_id, *, for_update: bool = True) -> dict:
    row = tx.one("select * from staff_users where id = %s and status <> 'removed'"
                 + (" for update" if for_update else ""), [staff_id])
    if row is None:
        raise NotFound("We could not find that staff member.")
    return row


def _other_admins(tx: Tx, staff_id) -> int:
    return tx.value("select count(*) from staff_users where role = 'admin' and status = 'active' and id <> %s",
                    [staff_id])


def _organisation(tx: Tx) -> str:
    return tx.value("select name from tenants where id = %s", [tx.tenant_id])


def invite_staff(tx: Tx, actor: Staff, *, email: str, display_name: str, role: str, title: str = "",
                 link_for) -> tuple[dict, str]:
    require(actor.role, "staff.invite")
    if role not in ROLES:
        raise ValidationFailed("Choose admin, host or moderator.", field="role")
    email = email.lower()
    existing = tx.one("select * from staff_users where email = %s for update", [email])
    if existing and existing["status"] != "removed":
        message = "This email already belongs to someone on your staff." if existing["role"] != "panelist" else \
            "This email belongs to a panelist: remove them as a panelist first."
        raise Conflict(message, field="email")
    plans.check_staff_seats(tx)
    columns = ("display_name = %s, title = %s, role = %s, status = 'invited', password_hash = null,"
               " totp_secret = null, totp_pending_secret = null, invited_by = %s, invited_at = now()")
    if existing:
        row = tx.one(f"update staff_users set {columns} where id = %s returning *",
                     [display_name, title, role, actor.id, existing["id"]])
    else:
        row = tx.one("insert into staff_users (tenant_id, email, display_name, title, role, status, invited_by,"
                     " invited_at) values (%s, %s, %s, %s, %s, 'invited', %s, now()) returning *",
                     [tx.tenant_id, email, display_name, title, role, actor.id])
    token = _send_invitation(tx, actor, row, link_for)
    audit.record_staff(tx, actor, "staff.invited", "staff", row["id"], {"email": email, "role": role})
    return row, token


def _send_invitation(tx: Tx, actor: Staff, row: dict, link_for) -> str:
    token = links.issue(tx, "invite", INVITE_LIFETIME, staff_id=row["id"], email=row["email"])
    emails.send_after_commit(tx, row["email"], *emails.staff_invitation(
        _organisation(tx), actor.display_name, ROLE_LABELS[row["role"]], link_for(token)))
    return token


def resend_invitation(tx: Tx, actor: Staff, staff_id, *, link_for) -> str:
    require(actor.role, "staff.invite")
    row = _target(tx, staff_id)
    if row["status"] != "invited":
        raise Conflict(f"{row['display_name']} has already accepted their invitation.")
    tx.execute("update staff_users set invited_at = now(), invited_by = %s where id = %s", [actor.id, row["id"]])
    token = _send_invitation(tx, actor, row, link_for)
    audit.record_staff(tx, actor, "staff.invitation_resent", "staff", row["id"])
    return token


def invitation(tx: Tx, token: str) -> dict | None:
    """Who a still-valid invitation is for (to greet them on the accept page)."""
    link = links.find(tx, token, "invite")
    if link is None:
        return None
    return tx.one("select * from staff_users where id = %s and status = 'invited'", [link["staff_id"]])


def accept_invitation(tx: Tx, *, token: str, password: str, ip: str | None) -> Staff:
    check_password(password)
    link = links.consume(tx, token, "invite")
    row = tx.one("update staff_users set status = 'active', password_hash = %s, password_changed_at = now()"
                 " where id = %s and status = 'invited' returning *", [hash_password(password), link["staff_id"]])
    if row is None:
        raise Gone(links.EXPIRED)
    staff = _staff(row)
    audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label,
                 action="staff.invitation_accepted", target_kind="staff", target_id=staff.id, ip=ip)
    return staff


def change_role(tx: Tx, actor: Staff, staff_id, role: str) -> dict:
    require(actor.role, "staff.manage")
    row = _target(tx, staff_id)
    if role not in ROLES:
        raise ValidationFailed("Choose admin, host or moderator.", field="role")
    if row["id"] == actor.id:
        raise Forbidden("You cannot change your own role: ask another admin.")
    if row["role"] == "panelist":
        raise Conflict("Panelists are invited per chat; invite them as staff to give them a role.")
    if row["role"] == role:
        return row
    if row["role"] == "admin" and _other_admins(tx, row["id"]) == 0:
        raise Conflict("Your organisation needs at least one admin.")
    updated = tx.one("update staff_users set role = %s where id = %s returning *", [role, row["id"]])
    audit.record_staff(tx, actor, "staff.role_changed", "staff", row["id"], {"from": row["role"], "to": role})
    return updated


def remove_staff(tx: Tx, actor: Staff, staff_id) -> None:
    """Ends their sessions and links at once; their past answers and audit rows stay."""
    require(actor.role, "staff.manage")
    row = _target(tx, staff_id)
    if row["id"] == actor.id:
        raise Forbidden("You cannot remove yourself: ask another admin.")
    if row["role"] == "admin" and _other_admins(tx, row["id"]) == 0:
        raise Conflict("Your organisation needs at least one admin.")
    _remove(tx, row)
    audit.record_staff(tx, actor, "staff.removed", "staff", row["id"], {"email": row["email"], "role": row["role"]})


def _remove(tx: Tx, row: dict) -> None:
    tx.execute("update staff_users set status = 'removed', password_hash = null, totp_secret = null,"
               " totp_pending_secret = null where id = %s", [row["id"]])
    tx.execute("delete from room_staff where staff_id = %s and role = 'panelist'", [row["id"]])
    revoke_sessions(tx, row["id"])
    links.revoke_for_staff(tx, row["id"])


# --- panelists ------------------------------------------------------------------------------

def _room(tx: Tx, room_id) -> dict:
    row = tx.one("select id, title, state from rooms where id = %s", [room_id])
    if row is None:
        raise NotFound("We could not find that chat.")
    return row


def room_panelists(tx: Tx, room_id) -> list[dict]:
    return tx.all(
        "select u.id, u.email, u.display_name, u.title, max(l.expires_at) as link_expires_at"
        " from room_staff rs join staff_users u on u.id = rs.staff_id"
        " left join auth_links l on l.staff_id = u.id and l.room_id = rs.room_id and l.purpose = 'panelist'"
        " and l.used_at is null and l.expires_at > now()"
        " where rs.room_id = %s and rs.role = 'panelist' and u.status = 'active'"
        " group by u.id order by u.display_name", [room_id])


def invite_panelist(tx: Tx, actor: Staff, room_id, *, email: str, display_name: str, title: str = "",
                    link_for) -> tuple[dict, str]:
    """A panelist for one chat: a staff row with role 'panelist' and no password, and a 7-day link."""
    require(actor.role, "panelist.invite")
    room = _room(tx, room_id)
    if room["state"] in ("closed", "archived"):
        raise Conflict("This chat has closed: panelists can no longer be invited.")
    email = email.lower()
    row = tx.one("select * from staff_users where email = %s for update", [email])
    if row and row["role"] != "panelist" and row["status"] != "removed":
        raise Conflict("This email belongs to a staff member: add them to the chat as staff instead.", field="email")
    if row:
        row = tx.one("update staff_users set role = 'panelist', status = 'active', display_name = %s, title = %s,"
                     " password_hash = null, totp_secret = null where id = %s returning *",
                     [display_name, title, row["id"]])
    else:
        row = tx.one("insert into staff_users (tenant_id, email, display_name, title, role, status, invited_by,"
                     " invited_at) values (%s, %s, %s, %s, 'panelist', 'active', %s, now()) returning *",
                     [tx.tenant_id, email, display_name, title, actor.id])
    tx.execute("insert into room_staff (tenant_id, room_id, staff_id, role) values (%s, %s, %s, 'panelist')"
               " on conflict do nothing", [tx.tenant_id, room["id"], row["id"]])
    token = links.issue(tx, "panelist", PANELIST_LINK_LIFETIME, staff_id=row["id"], room_id=room["id"], email=email)
    emails.send_after_commit(tx, email, *emails.panelist_invitation(
        _organisation(tx), room["title"], actor.display_name, link_for(token)))
    audit.record_staff(tx, actor, "panelist.invited", "room", room["id"], {"email": email, "staff_id": str(row["id"])})
    return row, token


def panelist_link(tx: Tx, token: str) -> tuple[dict, dict] | None:
    """(staff row, link) for a valid panelist link whose panelist is still on that chat."""
    link = links.find(tx, token, "panelist")
    if link is None:
        return None
    row = tx.one("select u.* from staff_users u join room_staff rs on rs.staff_id = u.id and rs.role = 'panelist'"
                 " where u.id = %s and rs.room_id = %s and u.status = 'active'", [link["staff_id"], link["room_id"]])
    return (row, link) if row else None


def remove_panelist(tx: Tx, actor: Staff, room_id, staff_id) -> None:
    """Off this chat at once; with no chat left, the panelist is removed altogether."""
    require(actor.role, "panelist.invite")
    room = _room(tx, room_id)
    row = tx.one("select * from staff_users where id = %s and role = 'panelist' for update", [staff_id])
    deleted = row and tx.execute("delete from room_staff where room_id = %s and staff_id = %s and role = 'panelist'",
                                 [room["id"], row["id"]]).rowcount
    if not deleted:
        raise NotFound("We could not find that panelist on this chat.")
    links.revoke_for_staff(tx, row["id"], room_id=room["id"])
    revoke_sessions(tx, row["id"])
    if not tx.value("select exists (select 1 from room_staff where staff_id = %s)", [row["id"]]):
        _remove(tx, row)
    audit.record_staff(tx, actor, "panelist.removed", "room", room["id"], {"staff_id": str(row["id"])})
