"""Extensions, unbound at import and init_app'd in the factory."""
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from tenants.db import db  # noqa: F401  (re-exported: the one pool per process)

socketio = SocketIO()
csrf = CSRFProtect()
