"""What a tenant has in the database, read as the owner (row-level security does not apply), to
prove that a refused or hostile call wrote nothing."""
from __future__ import annotations

import psycopg
from psycopg import sql


def tenant_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("select distinct table_name from information_schema.columns"
                        " where table_schema = 'public' and column_name = 'tenant_id' order by 1").fetchall()
    return [r[0] for r in rows]


def _per_table(conn, tenant_id, expression: str) -> dict[str, object]:
    parts = [sql.SQL("select {name}, " + expression + " from {table} t where tenant_id = %(t)s").format(
        name=sql.Literal(name), table=sql.Identifier(name)) for name in tenant_tables(conn)]
    parts.append(sql.SQL("select 'tenants', " + expression + " from tenants t where id = %(t)s"))
    query = sql.SQL(" union all ").join(parts)
    return dict(conn.execute(query, {"t": tenant_id}).fetchall())


def row_counts(conn: psycopg.Connection, tenant_id) -> dict[str, int]:
    return _per_table(conn, tenant_id, "count(*)")


def fingerprint(conn: psycopg.Connection, tenant_id) -> dict[str, str]:
    """A digest of every row the tenant owns, table by table: any change shows."""
    return _per_table(conn, tenant_id, "md5(coalesce(string_agg(t::text, '|' order by t::text), ''))")
