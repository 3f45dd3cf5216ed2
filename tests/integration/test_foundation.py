"""Start-up, health, migrations and tenant resolution."""
from __future__ import annotations

import subprocess
import sys
import threading

import psycopg
import pytest

from tenants.migrate import migrate, migration_files
from tests.support.servers import ROOT


def test_healthz_needs_no_io(client):
    assert client.get("/healthz").json == {"status": "ok", "process": "web"}


def test_readyz_checks_postgres_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readyz_is_503_when_a_dependency_is_down(config):
    from services.app import create_app

    broken = create_app(config.with_overrides(app_database_url="postgresql://townhall_app@127.0.0.1:1/none",
                                              redis_url="redis://127.0.0.1:1/0"), process="web")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"postgres": "unreachable", "redis": "unreachable"}


@pytest.mark.parametrize("overrides, fragment", [
    ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/townhall"}, "cannot reach PostgreSQL at 127.0.0.1:1"),
    ({"DATABASE_URL": "postgres://x@y:port/z"}, "port that is not a number"),
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "cannot reach Redis"),
    ({"TOWNHALL_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY must be set"),
])
def test_bad_configuration_stops_start_up_with_one_line(env, overrides, fragment):
    result = subprocess.run([sys.executable, "-m", "services.cli", "web", "--port", "1"], cwd=ROOT,
                            env={**env, **overrides}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_app_role_that_bypasses_rls_is_refused(env, stack):
    result = subprocess.run([sys.executable, "-m", "services.cli", "web", "--port", "1"], cwd=ROOT,
                            env={**env, "APP_DATABASE_URL": stack.owner_url}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "superuser or BYPASSRLS" in result.stderr


def test_migrations_are_recorded_and_rerunning_is_a_no_op(stack):
    assert migrate(stack.owner_url) == []
    with psycopg.connect(stack.owner_url) as conn:
        names = [r[0] for r in conn.execute("select name from schema_migrations order by name")]
    assert names == [p.name for p in migration_files()]


def test_concurrent_migrations_on_a_fresh_database_apply_each_file_once(stack):
    from tests.support.stack import _with_db

    fresh = f"{stack.dbname}_fresh"
    with psycopg.connect(stack.admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{fresh}"')
    try:
        url = _with_db(stack.admin_url, fresh)
        results: list[list[str]] = []
        threads = [threading.Thread(target=lambda: results.append(migrate(url))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        applied = sorted(name for r in results for name in r)
        assert applied == sorted(p.name for p in migration_files())
    finally:
        with psycopg.connect(stack.admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{fresh}" with (force)')


def test_tenant_resolves_by_path_and_by_subdomain(client, make_tenant):
    tenant = make_tenant(name="Westshire OPCC")
    assert "Westshire OPCC" in client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    by_host = client.get("/", headers={"Host": f"{tenant.slug}.localhost"})
    assert by_host.status_code == 200 and "Westshire OPCC" in by_host.get_data(as_text=True)


def test_a_tenant_host_never_serves_another_tenant(client, make_tenant):
    a, b = make_tenant(), make_tenant(name="Other Force")
    response = client.get(f"/t/{b.slug}/", headers={"Host": f"{a.slug}.localhost"})
    assert response.status_code == 404 and "Other Force" not in response.get_data(as_text=True)


def test_verified_custom_domain_resolves_and_unverified_does_not(client, make_tenant):
    from tenants.db import tenant_scope

    tenant = make_tenant(name="Custom Domain OPCC")
    with tenant_scope(tenant.id) as tx:
        tx.execute("insert into tenant_domains (tenant_id, domain, verified_at) values (%s, %s, now())",
                   [tenant.id, f"chat.{tenant.slug}.example"])
        tx.execute("insert into tenant_domains (tenant_id, domain) values (%s, %s)",
                   [tenant.id, f"pending.{tenant.slug}.example"])
    ok = client.get("/", headers={"Host": f"chat.{tenant.slug}.example"})
    assert ok.status_code == 200 and "Custom Domain OPCC" in ok.get_data(as_text=True)
    assert client.get("/", headers={"Host": f"pending.{tenant.slug}.example"}).status_code == 404


def test_unknown_and_pending_tenants_are_not_found(client, make_tenant):
    assert client.get("/t/no-such-tenant/").status_code == 404
    pending = make_tenant(state="pending")
    assert client.get(f"/t/{pending.slug}/").status_code == 404


def test_security_headers(client, make_tenant):
    tenant = make_tenant()
    response = client.get(f"/t/{tenant.slug}/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]
