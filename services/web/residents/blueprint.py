"""The resident pages' blueprint: every resident page module registers its routes on it."""
from services.web.tenant_routes import tenant_blueprint

bp = tenant_blueprint("residents", __name__)
