-- Tenants run themselves: sign-up verification, staff invitations and panelists, TOTP,
-- password resets, per-room panelist links, logos, and the platform's sign-up overrides.

-- Panelists are staff_users rows with role 'panelist': no password, reached only through a
-- per-room link, and limited to the rooms they are on (room_staff role 'panelist').
alter table staff_users drop constraint staff_users_role_check;
alter table staff_users add constraint staff_users_role_check
  check (role in ('admin', 'host', 'moderator', 'panelist'));
alter table staff_users
  add column totp_pending_secret text,             -- shown once during set-up, until confirmed
  add column totp_last_counter bigint not null default 0,  -- a TOTP code works once
  add column invited_by uuid,
  add column invited_at timestamptz,
  add column password_changed_at timestamptz,
  add column last_sign_in_at timestamptz;

-- A session is 'full' only after every factor: 'mfa' waits for a TOTP code, 'setup' is an
-- admin who must set up TOTP before anything else.
alter table staff_sessions
  add column stage text not null default 'full' check (stage in ('mfa', 'setup', 'full'));
create index staff_sessions_staff on staff_sessions (staff_id) where revoked_at is null;

-- Emailed links: sign-up verification, staff invitations, password resets (one use each) and
-- panelist links (reusable until they expire). Only the SHA-256 of the token is stored.
create table auth_links (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  purpose text not null check (purpose in ('signup', 'invite', 'reset', 'panelist')),
  token_hash bytea not null unique,
  staff_id uuid,
  room_id uuid,
  email text,
  data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  foreign key (tenant_id, staff_id) references staff_users(tenant_id, id) on delete cascade,
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('auth_links');
create index auth_links_staff on auth_links (tenant_id, staff_id, purpose);

-- The tenant's logo, re-encoded to PNG without metadata; served from /t/<slug>/brand/logo-<sha>.png.
create table tenant_logos (
  tenant_id uuid primary key references tenants(id) on delete cascade,
  png bytea not null,
  sha256 text not null,
  width int not null,
  height int not null,
  updated_at timestamptz not null default now()
);
select townhall_tenant_table('tenant_logos');

-- Platform-wide (no tenant): emails a platform admin allowed to sign up although their domain
-- is not on SIGNUP_EMAIL_SUFFIXES.
create table signup_overrides (
  email text primary key check (email = lower(email) and position('@' in email) > 1),
  granted_by text not null default '',
  granted_at timestamptz not null default now()
);
grant select, insert, update on signup_overrides to townhall_app;
