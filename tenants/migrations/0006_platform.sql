-- Platform administration and billing: plans, platform admin accounts, the platform audit log,
-- usage metering (live presence rows and a monthly roll-up), invoices and credit notes, tenant
-- exports, and the few SECURITY DEFINER functions that are the only cross-tenant path.

-- Plans are platform-wide (no tenant_id): every tenant may read them, only the owner writes.
-- Money in integer pence. A null overage price means the limit is a hard cap (enforced);
-- a price means going over is allowed and billed per unit.
create table plans (
  name text primary key check (name ~ '^[a-z0-9-]{2,40}$'),
  label text not null,
  monthly_price_pence int not null check (monthly_price_pence >= 0),
  rooms_per_month int not null check (rooms_per_month >= 0),
  participants_per_room int not null check (participants_per_room >= 1),
  staff_seats int not null check (staff_seats >= 1),
  caption_minutes int not null check (caption_minutes >= 0),
  storage_mb int not null check (storage_mb >= 0),
  overage_room_pence int check (overage_room_pence >= 0),
  overage_caption_minute_pence int check (overage_caption_minute_pence >= 0),
  overage_storage_mb_pence int check (overage_storage_mb_pence >= 0),
  trial_days int not null default 0 check (trial_days >= 0),
  created_at timestamptz not null default now()
);
grant select on plans to townhall_app;
insert into plans values
  ('trial', 'Trial', 0, 10, 200, 10, 60, 500, null, null, null, 30, now()),
  ('standard', 'Standard', 30000, 8, 500, 10, 240, 2000, 4000, 10, 1, 0, now()),
  ('large', 'Large', 75000, 30, 2000, 40, 1200, 10000, 3000, 8, 1, 0, now());

alter table tenants
  add column plan text not null default 'trial' references plans(name),
  add column billing_email text check (billing_email is null or position('@' in billing_email) > 1),
  add column po_number text not null default '' check (length(po_number) <= 60),
  add column trial_ends_at timestamptz,
  add column closed_at timestamptz,
  add column purge_after timestamptz;
update tenants set plan = settings->>'plan' where settings ? 'plan' and settings->>'plan' in (select name from plans);
update tenants set trial_ends_at = created_at + interval '30 days' where state in ('pending', 'trial');
alter table tenants alter column trial_ends_at set default now() + interval '30 days';  -- the trial plan's length

-- Platform admin accounts (the operator's staff): not tenant-owned, so no RLS; the app role may
-- read and update them and their sessions (sign-in), never delete. Created by the CLI.
create table platform_admins (
  id uuid primary key default gen_random_uuid(),
  email text not null unique check (email = lower(email) and position('@' in email) > 1),
  display_name text not null default '',
  password_hash text not null,
  totp_secret text,
  totp_pending_secret text,
  totp_last_counter bigint not null default 0,
  failed_logins int not null default 0,
  locked_until timestamptz,
  status text not null default 'active' check (status in ('active', 'removed')),
  created_at timestamptz not null default now(),
  last_sign_in_at timestamptz
);
grant select, insert, update on platform_admins to townhall_app;

create table platform_sessions (
  id uuid primary key default gen_random_uuid(),
  admin_id uuid not null references platform_admins(id) on delete cascade,
  token_hash bytea not null unique,
  stage text not null check (stage in ('mfa', 'setup', 'full')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip inet
);
grant select, insert, update on platform_sessions to townhall_app;

-- Every platform action, across tenants (the tenant's own audit_log gets a row too). Append-only.
-- The tenant is `tenant_ref` (not tenant_id): the row is the platform's, not the tenant's.
create table platform_audit (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  admin_id uuid,
  actor_label text not null default '',
  action text not null,
  tenant_ref uuid,
  details jsonb not null default '{}'::jsonb,
  ip inet
);
grant select, insert on platform_audit to townhall_app;
create index platform_audit_at on platform_audit (at desc);

-- Live connections of residents, one row per Socket.IO connection, written by whichever live
-- process holds it. Peak concurrency is computed from these intervals, so it survives restarts
-- and counts every live process; a connection whose process died ends at the room's close.
create table room_presence (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  participant_id uuid,
  process text not null default '',
  connected_at timestamptz not null default now(),
  disconnected_at timestamptz,
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('room_presence');
create index room_presence_room on room_presence (room_id, connected_at);

-- The monthly roll-up (month = first day, UTC). Recomputed from the source rows until the month
-- is invoiced; `room_peaks` keeps each room's peak concurrent participants.
create table usage_monthly (
  tenant_id uuid not null references tenants(id) on delete cascade,
  month date not null check (extract(day from month) = 1),
  rooms_held int not null default 0,
  peak_participants int not null default 0,
  unique_participants int not null default 0,
  questions int not null default 0,
  caption_minutes int not null default 0,
  storage_mb int not null default 0,
  staff_seats int not null default 0,
  room_peaks jsonb not null default '{}'::jsonb,
  computed_at timestamptz not null default now(),
  primary key (tenant_id, month)
);
select townhall_tenant_table('usage_monthly');

-- Gap-free numbering: one counter row per series and year, locked FOR UPDATE by the
-- transaction that writes the invoice, so a number is only used if the invoice commits.
create table invoice_counters (
  series text not null check (series in ('TH', 'CN')),
  year int not null,
  last_number int not null default 0,
  primary key (series, year)
);
grant select, insert, update on invoice_counters to townhall_app;

create table invoices (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  kind text not null default 'invoice' check (kind in ('invoice', 'credit_note')),
  number text not null unique,
  period date not null,
  plan text not null,
  status text not null default 'issued' check (status in ('issued', 'paid', 'void')),
  po_number text not null default '',
  billing_email text,
  subtotal_pence bigint not null,
  vat_rate_bp int not null,          -- basis points: 2000 = 20%
  vat_pence bigint not null,
  total_pence bigint not null,
  credits_invoice_id uuid,
  reason text not null default '',
  pdf bytea,
  csv text,
  issued_at timestamptz not null default now(),
  paid_at timestamptz,
  voided_at timestamptz,
  unique (tenant_id, id),
  foreign key (tenant_id, credits_invoice_id) references invoices(tenant_id, id)
);
select townhall_tenant_table('invoices');
-- Re-running a month never makes a second invoice.
create unique index invoices_one_per_period on invoices (tenant_id, period) where kind = 'invoice';

create table invoice_lines (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  invoice_id uuid not null,
  position int not null,
  description text not null,
  quantity int not null,
  unit_pence bigint not null,
  amount_pence bigint not null,
  unique (invoice_id, position),
  foreign key (tenant_id, invoice_id) references invoices(tenant_id, id) on delete cascade
);
select townhall_tenant_table('invoice_lines');

-- A closing tenant's full data export (ZIP), kept until the purge.
create table tenant_exports (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  status text not null default 'queued' check (status in ('queued', 'ready', 'failed')),
  zip bytea,
  size_bytes bigint,
  requested_by text not null default '',
  created_at timestamptz not null default now(),
  ready_at timestamptz
);
select townhall_tenant_table('tenant_exports');

-- The owner role reads usage and invoices across tenants only inside the SECURITY DEFINER
-- functions below (FORCEd RLS applies to the owner too, so it needs this policy when it is not a
-- superuser). The app role is unaffected: its only policy is tenant_isolation.
do $$ begin
  execute format('create policy platform_functions on usage_monthly for select to %I using (true)', current_user);
  execute format('create policy platform_functions on invoices for select to %I using (true)', current_user);
end $$;

-- The one audited cross-tenant read: every tenant with this month's usage, for an active
-- platform admin only; each call is written to platform_audit.
create or replace function townhall_platform_tenants(p_admin uuid, p_search text, p_month date)
returns table (id uuid, slug text, name text, state text, plan text, contact_email text,
               billing_email text, created_at timestamptz, trial_ends_at timestamptz,
               rooms_held int, peak_participants int, unique_participants int, caption_minutes int,
               unpaid_pence bigint)
language plpgsql volatile security definer set search_path = public, pg_temp as $$
begin
  if not exists (select 1 from platform_admins a where a.id = p_admin and a.status = 'active'
                 and a.totp_secret is not null) then
    raise exception 'not a platform admin' using errcode = '42501';
  end if;
  insert into platform_audit (admin_id, action, details)
    values (p_admin, 'tenants.listed', jsonb_build_object('search', coalesce(p_search, '')));
  return query
    select t.id, t.slug, t.name, t.state, t.plan, t.contact_email, t.billing_email, t.created_at, t.trial_ends_at,
           coalesce(u.rooms_held, 0), coalesce(u.peak_participants, 0), coalesce(u.unique_participants, 0),
           coalesce(u.caption_minutes, 0),
           coalesce((select sum(i.total_pence) from invoices i where i.tenant_id = t.id and i.kind = 'invoice'
                     and i.status = 'issued'), 0)::bigint
    from tenants t left join usage_monthly u on u.tenant_id = t.id and u.month = p_month
    where coalesce(p_search, '') = ''
       or t.slug ilike '%' || p_search || '%' or t.name ilike '%' || p_search || '%'
       or t.contact_email ilike '%' || p_search || '%'
    order by t.state = 'closed', t.name;
end $$;

-- Beat's way to find tenants for billing work: ids only (the work itself happens inside
-- tenant_scope, one tenant at a time).
create or replace function townhall_platform_tenant_ids(p_purpose text, p_now timestamptz)
returns setof uuid
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if p_purpose = 'usage' then
    return query select t.id from tenants t where t.state in ('trial', 'active', 'suspended');
  elsif p_purpose = 'invoice' then
    return query select t.id from tenants t join plans p on p.name = t.plan
      where t.state in ('active', 'suspended');
  elsif p_purpose = 'purge' then
    return query select t.id from tenants t where t.state = 'closed' and t.purge_after <= p_now;
  else
    raise exception 'unknown purpose: %', p_purpose;
  end if;
end $$;

-- The purge after a closed tenant's grace period: deletes the tenant (every tenant-owned row
-- cascades) and leaves a platform_audit row. Only closed tenants past their purge date.
create or replace function townhall_platform_purge_tenant(p_tenant uuid, p_now timestamptz, p_actor text)
returns boolean
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  v_slug text;
begin
  delete from tenants t where t.id = p_tenant and t.state = 'closed' and t.purge_after <= p_now
    returning t.slug into v_slug;
  if v_slug is null then
    return false;
  end if;
  insert into platform_audit (actor_label, action, tenant_ref, details)
    values (p_actor, 'tenant.purged', p_tenant, jsonb_build_object('slug', v_slug));
  return true;
end $$;

revoke all on function townhall_platform_tenants(uuid, text, date), townhall_platform_tenant_ids(text, timestamptz),
  townhall_platform_purge_tenant(uuid, timestamptz, text) from public;
grant execute on function townhall_platform_tenants(uuid, text, date), townhall_platform_tenant_ids(text, timestamptz),
  townhall_platform_purge_tenant(uuid, timestamptz, text) to townhall_app;
