"""The application factory: one codebase for the web, live and worker processes."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.lib import formatting, i18n
from services.ops import health, jobs, metrics
from services.ops.config import Config, load_config
from services.ops.logs import configure_logging
from services.screening import engine as screening_engine
from services.web import errors, security
from services.web.extensions import csrf, db, socketio
from services.web.live.message_queue import MeteredRedisManager
from tenants.resolution import TenantHostMiddleware, slug_for_domain

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def create_app(config: Config | None = None, *, process: str = "web") -> Flask:
    config = config or load_config()
    app = Flask(__name__)
    app.config.update(
        TOWNHALL=config,
        PROCESS=process,
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.is_production,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,
        TEMPLATES_AUTO_RELOAD=config.env == "development",
    )
    configure_logging(config.log_format, config.log_level, process)
    pool = db.init_app(app)
    csrf.init_app(app)
    errors.register_error_handlers(app)
    security.init_app(app)
    metrics.init_app(app)
    formatting.init_app(app)
    i18n.init_app(app)
    _register_slices(app)
    if config.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops,
                                x_host=config.proxy_hops)
    jobs.init_app(app)
    if process in ("web", "live"):   # residents' questions are screened where they arrive
        screening_engine.use(config.screening_model)
    app.wsgi_app = TenantHostMiddleware(app.wsgi_app, config.base_domain,
                                        lambda host: slug_for_domain(pool, host))
    if process == "live":
        from services.web.live import events  # noqa: F401  (registers the Socket.IO handlers)
        from services.web.live import captions as _captions  # noqa: F401  (and the live audio's)
        queue = MeteredRedisManager(config.redis_url, channel=config.socketio_channel,
                                            on_resubscribed=lambda marks: events.catch_up_after_outage(app, marks))
        # manage_session=False: live handlers use signed tokens, never the cookie session, so no
        # per-connection copy of it is kept (Flask-SocketIO's default keeps one per connection)
        socketio.init_app(app, client_manager=queue, async_mode="gevent", manage_session=False,
                          cors_allowed_origins=events.origin_checker(config.base_domain, pool,
                                                                     allow_loopback=not config.is_production),
                          ping_interval=25, ping_timeout=20, max_http_buffer_size=64 * 1024)
    return app


def _register_slices(app: Flask) -> None:
    from services.web.branding.views import bp as branding_bp
    from services.web.console import bp as console_bp
    from services.web.engagement.views import bp as engagement_console_bp
    from services.web.engagement.resident_views import bp as engagement_residents_bp
    from services.web.media.views import bp as media_console_bp
    from services.web.transcripts.views import bp as transcripts_console_bp
    from services.web.api.console import bp as api_console_bp
    from services.web.api.views import bp as api_bp, platform_bp as api_platform_bp
    from services.web.residents.share import platform_bp as share_bp
    from services.web.residents import bp as residents_bp
    from services.web.signup.views import bp as signup_bp
    from services.web.platform.views import bp as platform_bp
    from services.web.vendor import bp as vendor_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(vendor_bp)
    app.register_blueprint(residents_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(signup_bp)
    app.register_blueprint(media_console_bp)
    app.register_blueprint(transcripts_console_bp)
    app.register_blueprint(platform_bp)
    app.register_blueprint(engagement_console_bp)
    app.register_blueprint(engagement_residents_bp)
    if app.config["TOWNHALL"].env == "development":
        from services.dev.devmail import bp as devmail_bp
        app.register_blueprint(devmail_bp)
    app.register_blueprint(branding_bp)
    app.register_blueprint(share_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_platform_bp)
    app.register_blueprint(api_console_bp)
