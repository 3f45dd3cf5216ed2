"""The staff console: one blueprint (`blueprint.py`), its pages in one module per area."""
from services.web.console import account, billing_pages, settings_pages, sso_pages, staff_pages, views  # noqa: F401
from services.web.console.blueprint import bp  # noqa: F401
