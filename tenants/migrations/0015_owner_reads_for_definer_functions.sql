-- FORCE ROW LEVEL SECURITY binds a table's owner too unless the owner is a superuser (managed
-- PostgreSQL never is). The SECURITY DEFINER functions that find due work across tenants
-- (townhall_tenants_with_due_work, the platform functions) run as the owner, so on a managed
-- server they would see nothing. Give the owner role, and only it, a read policy on every
-- tenant-owned table; the application role's only policy stays tenant_isolation.
create or replace function townhall_tenant_table(tbl regclass) returns void
language plpgsql as $$
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  execute format('drop policy if exists tenant_isolation on %s', tbl);
  execute format(
    'create policy tenant_isolation on %s '
    'using (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid) '
    'with check (tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid)', tbl);
  execute format('drop policy if exists owner_read on %s', tbl);
  execute format('create policy owner_read on %s for select to %I using (true)', tbl,
                 (select r.rolname from pg_class c join pg_roles r on r.oid = c.relowner where c.oid = tbl));
  execute format('grant select, insert, update, delete on %s to townhall_app', tbl);
end $$;

do $$
declare t regclass;
begin
  for t in select p.polrelid::regclass from pg_policy p where p.polname = 'tenant_isolation' loop
    perform townhall_tenant_table(t);
  end loop;
end $$;
-- the audit log stays append-only for the application (the template grants all four)
revoke update, delete on audit_log from townhall_app;
