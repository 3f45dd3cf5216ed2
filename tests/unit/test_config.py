import pytest

from services.ops.config import ConfigError, load_config
from tenants.migrate import APP_ROLE


def test_defaults_are_documented_development_values():
    config = load_config({})
    assert config.env == "development" and config.base_domain == "localhost" and config.log_format == "text"


def test_app_url_is_derived_with_the_unprivileged_role():
    config = load_config({"DATABASE_URL": "postgresql://owner:pw@db.example:5432/townhall"})
    assert f"user={APP_ROLE}" in config.app_database_url and "pw" not in config.app_database_url
    assert "host=db.example" in config.app_database_url


@pytest.mark.parametrize("environ, fragment", [
    ({"TOWNHALL_ENV": "staging"}, "TOWNHALL_ENV must be one of"),
    ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://x@y:notaport/z"}, "DATABASE_URL"),
    ({"REDIS_URL": "http://localhost"}, "REDIS_URL must start with"),
    ({"TOWNHALL_ENV": "production"}, "SECRET_KEY must be set"),
    ({"TOWNHALL_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY must be set"),
    ({"TOWNHALL_ENV": "production", "SECRET_KEY": "x" * 40}, "must be set in production"),
    ({"DB_POOL_MAX": "ten"}, "DB_POOL_MAX"),
    ({"CAPTIONS_QUEUE": "mail"}, "CAPTIONS_QUEUE"),
    ({"CAPTIONS_QUEUE": "Media Queue"}, "CAPTIONS_QUEUE"),
])
def test_bad_configuration_is_one_clear_line(environ, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(environ)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_captions_go_to_the_configured_queue(monkeypatch):
    from services.ops.jobs import TRANSCRIBE_MEDIA, SEND_MAIL, make_celery

    monkeypatch.setenv("CAPTIONS_QUEUE", "captions")
    celery = make_celery()
    router = celery.amqp.router
    assert router.route({}, TRANSCRIBE_MEDIA)["queue"].name == "captions"
    assert router.route({}, SEND_MAIL)["queue"].name == "mail"
    assert {q.name for q in celery.conf.task_queues} == {"default", "mail", "captions"}
    assert load_config().celery_queues == ("default", "mail", "captions")
