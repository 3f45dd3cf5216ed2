"""The staff console: one blueprint (`blueprint.py`), its pages in one module per area."""
from services.web.console import (account, billing_pages, navigation, settings_pages, sso_pages,  # noqa: F401
                                  staff_pages, views)
from services.web.console.blueprint import bp  # noqa: F401
