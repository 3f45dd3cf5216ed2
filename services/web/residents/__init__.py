"""Resident pages: one blueprint (`blueprint.py`), its pages in one module per area."""
from services.web.residents import embed, feeds, room_parts, share, views  # noqa: F401
from services.web.residents.blueprint import bp  # noqa: F401
