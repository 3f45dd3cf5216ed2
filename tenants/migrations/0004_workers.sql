-- Background work: outgoing mail, registrations and reminders, transcripts, media with captions.
-- Due work lives in these rows (never only in Redis): beat finds it, workers claim it with
-- FOR UPDATE SKIP LOCKED or a status transition, so each piece is done once.

-- Every message we send, rendered when queued. Survives a Redis restart; claimed by a status
-- transition (queued -> sending -> sent), retried with backoff (next_attempt_at).
create table outbound_mail (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  ref text not null,                      -- what caused it (e.g. reminder:<id>): one message per ref
  kind text not null,
  to_address text not null,               -- personal data: purged by retention
  subject text not null,
  message bytea not null,                 -- the whole RFC 5322 message, ready to send
  status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'failed')),
  attempts int not null default 0,
  last_error text,
  next_attempt_at timestamptz not null default now(),
  claimed_at timestamptz,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  unique (tenant_id, ref)
);
select townhall_tenant_table('outbound_mail');
create index outbound_mail_due on outbound_mail (next_attempt_at) where status in ('queued', 'sending');

-- A resident's interest in a room (double opt-in). The email is personal data (retention).
create table registrations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  email text not null check (email = lower(email) and position('@' in email) > 1 and length(email) <= 254),
  language text not null default 'en',
  status text not null default 'pending' check (status in ('pending', 'confirmed', 'unsubscribed')),
  created_at timestamptz not null default now(),
  confirmed_at timestamptz,
  unsubscribed_at timestamptz,
  unique (tenant_id, id),
  unique (room_id, email),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('registrations');
create index registrations_room on registrations (room_id, status);

-- One row per message a registration will get: offset reminders (24 h, 1 h), "we're live"
-- (offset 0) and "transcript ready". sent_at set in the same transaction that queues the mail.
create table reminders (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  registration_id uuid not null,
  room_id uuid not null,
  kind text not null check (kind in ('before', 'live', 'transcript')),
  offset_minutes int not null default 0,
  due_at timestamptz not null,
  sent_at timestamptz,
  outcome text check (outcome in ('sent', 'skipped')),
  unique (registration_id, kind, offset_minutes),
  foreign key (tenant_id, registration_id) references registrations(tenant_id, id) on delete cascade
);
select townhall_tenant_table('reminders');
create index reminders_due on reminders (due_at) where sent_at is null;

-- The transcript of a closed room, every format built at once and stored in one transaction.
create table transcripts (
  tenant_id uuid not null,
  room_id uuid not null primary key,
  html text not null,
  text text not null,
  json text not null,
  csv text not null,
  pdf bytea not null,
  figures jsonb not null,
  digest text not null,                   -- sha256 over the outputs: equal when regenerated
  generation int not null default 1,      -- how many times it was stored
  built_at timestamptz not null default now(),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('transcripts');

-- Audio or video attached to a room, and its captions.
create table media (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  title text not null check (length(title) between 1 and 140),
  kind text not null check (kind in ('audio', 'video')),
  content_type text not null,
  size_bytes bigint not null check (size_bytes > 0),
  storage_path text not null,
  status text not null default 'queued' check (status in ('queued', 'processing', 'ready', 'failed')),
  error text,
  captions_vtt text,
  captions_edited boolean not null default false,
  engine text,
  duration_seconds double precision,
  processing_seconds double precision,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('media');
create index media_room on media (room_id, created_at);

-- Beat's one way to find which tenants have due work of a kind, before any tenant is in
-- scope. It returns tenant ids only; the work itself is then claimed inside tenant_scope.
create or replace function townhall_tenants_with_due_work(p_kind text, p_now timestamptz)
returns setof uuid
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if p_kind = 'reminders' then
    return query select distinct r.tenant_id from reminders r
      where r.sent_at is null and r.due_at <= p_now;
  elsif p_kind = 'mail' then
    return query select distinct m.tenant_id from outbound_mail m
      where (m.status = 'queued' and m.next_attempt_at <= p_now)
         or (m.status = 'sending' and m.claimed_at <= p_now - interval '10 minutes');
  elsif p_kind = 'transcripts' then
    return query select distinct r.tenant_id from rooms r
      where r.state in ('closed', 'archived') and r.closed_at <= p_now
        and not exists (select 1 from transcripts t where t.room_id = r.id);
  elsif p_kind = 'media' then
    return query select distinct m.tenant_id from media m
      where m.status = 'queued' and m.created_at <= p_now;
  elsif p_kind = 'retention' then
    return query select t.id from tenants t
      where exists (select 1 from registrations g where g.tenant_id = t.id)
         or exists (select 1 from outbound_mail m where m.tenant_id = t.id)
         or exists (select 1 from participants p where p.tenant_id = t.id and p.network_hash is not null);
  else
    raise exception 'unknown kind of work: %', p_kind;
  end if;
end $$;
revoke all on function townhall_tenants_with_due_work(text, timestamptz) from public;
grant execute on function townhall_tenants_with_due_work(text, timestamptz) to townhall_app;
