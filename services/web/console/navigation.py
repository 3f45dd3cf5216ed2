"""The console's navigation, grouped the way staff think: the chats first, then what residents
raised (engagement), then running the organisation, then the account menu.

A link is shown only with its permission; the link for the current page carries
aria-current="page", and a link whose area holds the current page (a chat's moderation page
under "Chats") carries aria-current="true".
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from services.web.console.blueprint import bp
from tenants.roles import can


@dataclass(frozen=True)
class Link:
    label: str
    endpoint: str
    permission: str | None = None
    area: tuple[str, ...] = ()          # other endpoints that belong under this link

    def current(self) -> str | None:
        if request.endpoint == self.endpoint:
            return "page"
        return "true" if request.endpoint in self.area else None

    def shown_to(self, role: str) -> bool:
        return self.permission is None or can(role, self.permission)


@dataclass(frozen=True)
class Section:
    label: str | None                   # None: links shown directly, not in a menu
    links: tuple[Link, ...]


ROOM_PAGES = ("console.edit_room", "console.moderate", "console.host", "console.panelists",
              "media_console.media_page", "media_console.captions")

SECTIONS = (
    Section(None, (
        Link("Chats", "console.dashboard", area=ROOM_PAGES),
        Link("New chat", "console.new_room", "room.create"),
    )),
    Section("Engagement", (
        Link("Themes", "engagement_console.theme_list", "question.moderate"),
        Link("Reports", "engagement_console.theme_report", "question.moderate"),
        Link("Neighbourhoods", "engagement_console.neighbourhood_list", "room.edit",
             area=("engagement_console.neighbourhood_rooms",)),
        Link("Escalations", "engagement_console.escalation_list", "audit.read"),
        Link("Data requests", "engagement_console.data_requests", "audit.read"),
        Link("Engagement settings", "engagement_console.settings_page", "settings.edit"),
    )),
    Section("Organisation", (
        Link("Staff", "console.staff_list", "staff.manage"),
        Link("Settings", "console.settings", "settings.edit"),
        Link("Plan and usage", "console.usage", "billing.read"),
        Link("Audit log", "console.audit_log", "audit.read"),
        Link("API", "api_console.index", "settings.edit"),
    )),
)

ACCOUNT = Link("Your account", "console.account", area=("console.totp_setup",))


@bp.app_template_global()
def console_nav() -> list[tuple[str | None, list[Link], bool]]:
    """(section label, the links this staff member may use, whether it holds the current page)."""
    role = g.staff.role
    sections = []
    for section in SECTIONS:
        links = [link for link in section.links if link.shown_to(role)]
        if links:
            sections.append((section.label, links, any(link.current() for link in links)))
    return sections


@bp.app_template_global()
def account_link() -> Link | None:
    """Panelists have no account page: their access is the link they were sent."""
    return None if g.staff.role == "panelist" else ACCOUNT
