"""WSGI entry point for gunicorn (`web` process)."""
from services.app import create_app

app = create_app(process="web")
