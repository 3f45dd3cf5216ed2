"""The staff console's blueprint: every console page module registers its routes on it."""
from services.web.tenant_routes import tenant_blueprint

bp = tenant_blueprint("console", __name__, "/console")
