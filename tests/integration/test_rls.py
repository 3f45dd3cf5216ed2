"""Tenant isolation enforced by PostgreSQL itself, as the application role."""
from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from tenants.migrate import APP_ROLE


@pytest.fixture()
def two_tenants(make_tenant, make_staff):
    a, b = make_tenant(), make_tenant()
    return a, b, make_staff(a), make_staff(b)


def app_conn(config):
    return psycopg.connect(config.app_database_url, row_factory=dict_row)


def scoped(conn, tenant_id):
    conn.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])


def test_app_role_is_neither_owner_nor_bypassrls(config):
    with app_conn(config) as conn:
        role = conn.execute("select rolsuper, rolbypassrls, current_user as name from pg_roles"
                            " where rolname = current_user").fetchone()
        owned = conn.execute("select count(*) as n from pg_tables where tableowner = current_user").fetchone()
    assert role == {"rolsuper": False, "rolbypassrls": False, "name": APP_ROLE}
    assert owned["n"] == 0


def test_every_tenant_table_has_forced_rls_and_the_template_policy(stack):
    with psycopg.connect(stack.owner_url) as conn:
        tables = conn.execute(
            "select c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_isolation')"
            " from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind = 'r'").fetchall()
    assert len(tables) >= 15
    unprotected = [t[0] for t in tables if not (t[1] and t[2] and t[3])]
    assert unprotected == []


def test_tenant_a_cannot_read_update_or_delete_tenant_b_rows(config, two_tenants):
    a, b, staff_a, staff_b = two_tenants
    with app_conn(config) as conn:
        scoped(conn, a.id)
        visible = conn.execute("select tenant_id from staff_users").fetchall()
        assert {r["tenant_id"] for r in visible} == {a.id}
        assert conn.execute("select count(*) as n from staff_users where id = %s", [staff_b.id]).fetchone()["n"] == 0
        assert conn.execute("update staff_users set display_name = 'hacked' where id = %s", [staff_b.id]).rowcount == 0
        assert conn.execute("delete from staff_users where id = %s", [staff_b.id]).rowcount == 0
        assert conn.execute("select count(*) as n from tenants").fetchone()["n"] == 1
        conn.commit()
    with app_conn(config) as conn:
        scoped(conn, b.id)
        row = conn.execute("select display_name from staff_users where id = %s", [staff_b.id]).fetchone()
    assert row["display_name"] != "hacked"


def test_no_tenant_set_sees_no_tenant_rows(config, two_tenants):
    with app_conn(config) as conn:
        for table in ("tenants", "staff_users", "audit_log", "rooms"):
            assert conn.execute(f"select count(*) as n from {table}").fetchone()["n"] == 0, table


def test_insert_with_another_tenants_id_is_refused(config, two_tenants):
    a, b, *_ = two_tenants
    with app_conn(config) as conn:
        scoped(conn, a.id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into staff_users (tenant_id, email, display_name, role)"
                         " values (%s, 'x@b.police.uk', 'X', 'admin')", [b.id])


def test_moving_a_row_to_another_tenant_is_refused(config, two_tenants):
    a, b, staff_a, _ = two_tenants
    with app_conn(config) as conn:
        scoped(conn, a.id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("update staff_users set tenant_id = %s where id = %s", [b.id, staff_a.id])


def test_audit_log_is_append_only_for_the_app(config, two_tenants):
    a, *_ = two_tenants
    with app_conn(config) as conn:
        scoped(conn, a.id)
        assert conn.execute("select count(*) as n from audit_log").fetchone()["n"] >= 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from audit_log")


def test_tenant_setting_does_not_leak_to_the_next_transaction_on_a_pooled_connection(app_ctx, two_tenants):
    from tenants.db import tenant_scope, unscoped

    a, *_ = two_tenants
    with tenant_scope(a.id) as tx:
        assert tx.value("select count(*) from staff_users") >= 1
    for _ in range(3):  # the pool hands back the same connections
        with unscoped() as tx:
            assert tx.value("select current_setting('app.tenant_id', true)") in ("", None)
            assert tx.value("select count(*) from staff_users") == 0


def test_definer_functions_see_due_work_when_the_owner_is_not_a_superuser(stack):
    """Managed PostgreSQL never gives a superuser: FORCEd RLS then binds the owner too, and the
    functions that find due work across tenants must still see it (owner_read policy)."""
    import uuid

    from psycopg import sql

    from tenants.migrate import migrate
    from tests.support.stack import _with_db

    owner, dbname = f"th_owner_{uuid.uuid4().hex[:6]}", f"{stack.dbname}_managed"
    with psycopg.connect(stack.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login nosuperuser nobypassrls").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(dbname), sql.Identifier(owner)))
    try:
        owner_url = _with_db(stack.admin_url, dbname).replace("user=postgres", f"user={owner}")
        migrate(owner_url)
        tenant_id = uuid.uuid4()
        with psycopg.connect(owner_url.replace(f"user={owner}", f"user={APP_ROLE}")) as app:
            app.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            app.execute("insert into tenants (id, slug, name) values (%s, 'managed-test', 'Managed')", [tenant_id])
            app.execute("insert into rooms (tenant_id, title, starts_at, ends_at, state, closed_at)"
                        " values (%s, 'Closed chat', now() - interval '2 hours', now() - interval '1 hour',"
                        " 'closed', now() - interval '1 hour')", [tenant_id])
            app.commit()
            found = app.execute("select * from townhall_tenants_with_due_work('transcripts', now())").fetchall()
            direct = app.execute("select count(*) from rooms").fetchone()  # no tenant set: nothing
        assert [r[0] for r in found] == [tenant_id]
        assert direct[0] == 0
    finally:
        with psycopg.connect(stack.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(owner)))
