-- The multi-tenant core: tenants, their domains, staff, sessions, the audit log,
-- and the one template every tenant-owned table goes through for row-level security.


-- The single template for tenant isolation. Every tenant-owned table calls it, so no table
-- can be forgotten (tests/integration/test_rls.py checks every table with a tenant_id column).
-- nullif(): after a transaction-local set_config ends, the setting reads '' rather than NULL.
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
  execute format('grant select, insert, update, delete on %s to townhall_app', tbl);
end $$;

create table tenants (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{1,38}[a-z0-9])$'),
  name text not null check (length(name) between 2 and 120),
  state text not null default 'trial' check (state in ('pending', 'trial', 'active', 'suspended', 'closed')),
  contact_email text,
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- A tenant row is visible only inside its own scope. Not FORCEd: the owner role (migrations
-- and the SECURITY DEFINER resolution functions below) must read it to resolve a host or slug.
alter table tenants enable row level security;
create policy tenant_self on tenants
  using (id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  with check (id = nullif(current_setting('app.tenant_id', true), '')::uuid);
grant select, insert, update on tenants to townhall_app;

create table tenant_domains (
  tenant_id uuid not null references tenants(id) on delete cascade,
  domain text not null unique check (domain = lower(domain)),
  verification_token text not null default replace(gen_random_uuid()::text, '-', ''),
  verified_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, domain)
);
select townhall_tenant_table('tenant_domains');

-- Resolution needs to find a tenant before any tenant is in scope. These functions return
-- only the public identity of one tenant, never a list.
create or replace function townhall_tenant_by_slug(p_slug text)
returns table (id uuid, slug text, name text, state text)
language sql stable security definer set search_path = public, pg_temp as $$
  select t.id, t.slug, t.name, t.state from tenants t where t.slug = lower(p_slug)
$$;
create or replace function townhall_tenant_by_domain(p_domain text)
returns table (id uuid, slug text, name text, state text)
language sql stable security definer set search_path = public, pg_temp as $$
  select t.id, t.slug, t.name, t.state from tenants t
  join tenant_domains d on d.tenant_id = t.id
  where d.domain = lower(p_domain) and d.verified_at is not null
$$;
revoke all on function townhall_tenant_by_slug(text), townhall_tenant_by_domain(text) from public;
grant execute on function townhall_tenant_by_slug(text), townhall_tenant_by_domain(text) to townhall_app;

create table staff_users (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  email text not null check (email = lower(email) and position('@' in email) > 1),
  display_name text not null check (length(display_name) between 1 and 80),
  title text not null default '',
  role text not null check (role in ('admin', 'host', 'moderator')),
  status text not null default 'active' check (status in ('invited', 'active', 'removed')),
  password_hash text,
  totp_secret text,
  failed_logins int not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  unique (tenant_id, email),
  unique (tenant_id, id)
);
select townhall_tenant_table('staff_users');

create table staff_sessions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  staff_id uuid not null,
  token_hash bytea not null unique,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip inet,
  foreign key (tenant_id, staff_id) references staff_users(tenant_id, id) on delete cascade
);
select townhall_tenant_table('staff_sessions');

create table audit_log (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants(id) on delete cascade,
  at timestamptz not null default now(),
  actor_kind text not null check (actor_kind in ('staff', 'platform', 'system', 'resident')),
  actor_id uuid,
  actor_label text not null default '',
  action text not null,
  target_kind text not null default '',
  target_id text not null default '',
  details jsonb not null default '{}'::jsonb,
  ip inet
);
select townhall_tenant_table('audit_log');
-- The audit log is append-only for the application.
revoke update, delete on audit_log from townhall_app;
create index audit_log_tenant_at on audit_log (tenant_id, at desc);
