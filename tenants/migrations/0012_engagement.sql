-- Police-grade engagement: safeguarding escalations (mail + signed webhook), duplicates merged
-- into a published question, themes for consultation reports, residents' data-rights requests,
-- neighbourhoods that rooms target.

-- A question a moderator judged to suggest risk to life or a safeguarding concern. The row is
-- the record sent to the force (a copy of the text and time, kept even if the question goes),
-- and the state of its webhook delivery (claimed by status, retried with backoff).
create table escalations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  question_id uuid not null,           -- no FK: the safeguarding record outlives the question
  participant_id uuid,
  staff_id uuid not null,
  body text not null,                  -- the original text as the resident wrote it
  display_name text not null,
  asked_at timestamptz not null,
  network_hash text,                   -- only when the tenant's policy allows sharing it
  note text not null default '' check (length(note) <= 2000),
  email_to text,
  webhook_url text,
  webhook_status text not null default 'none'
    check (webhook_status in ('none', 'pending', 'sending', 'delivered', 'failed')),
  webhook_attempts int not null default 0,
  webhook_last_error text,
  webhook_next_at timestamptz not null default now(),
  webhook_claimed_at timestamptz,
  webhook_delivered_at timestamptz,
  created_at timestamptz not null default now(),
  unique (tenant_id, id),
  unique (question_id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('escalations');
create index escalations_tenant_created on escalations (tenant_id, created_at desc);
create index escalations_webhook_due on escalations (webhook_next_at) where webhook_status in ('pending', 'sending');

-- "Merged as a duplicate of": set with status 'rejected' and reason 'duplicate'.
alter table questions add column merged_into uuid;

-- The tenant's themes: Police and Crime Plan priorities or precept options.
create table themes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  name text not null check (length(name) between 2 and 120),
  kind text not null default 'priority' check (kind in ('priority', 'precept', 'other')),
  archived boolean not null default false,
  created_at timestamptz not null default now(),
  unique (tenant_id, id)
);
select townhall_tenant_table('themes');
create unique index themes_tenant_name on themes (tenant_id, lower(name));

create table question_themes (
  tenant_id uuid not null,
  question_id uuid not null,
  theme_id uuid not null,
  tagged_by uuid,
  created_at timestamptz not null default now(),
  primary key (question_id, theme_id),
  foreign key (tenant_id, question_id) references questions(tenant_id, id) on delete cascade,
  foreign key (tenant_id, theme_id) references themes(tenant_id, id) on delete cascade
);
select townhall_tenant_table('question_themes');

create table poll_themes (
  tenant_id uuid not null,
  poll_id uuid not null,
  theme_id uuid not null,
  primary key (poll_id, theme_id),
  foreign key (tenant_id, poll_id) references polls(tenant_id, id) on delete cascade,
  foreign key (tenant_id, theme_id) references themes(tenant_id, id) on delete cascade
);
select townhall_tenant_table('poll_themes');

-- A resident's subject access or deletion request, verified by a link sent to the email.
create table data_requests (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  email text not null check (email = lower(email) and position('@' in email) > 1 and length(email) <= 254),
  kind text not null check (kind in ('access', 'deletion')),
  status text not null default 'unverified' check (status in ('unverified', 'open', 'completed')),
  created_at timestamptz not null default now(),
  verified_at timestamptz,
  due_at timestamptz,                   -- one calendar month after verification
  reminded_at timestamptz,
  completed_at timestamptz,
  completed_by uuid,
  outcome jsonb not null default '{}'::jsonb,
  unique (tenant_id, id)
);
select townhall_tenant_table('data_requests');
create index data_requests_due on data_requests (due_at) where status = 'open';

-- Which participants (a browser session's identity in one room) belong to a registration's
-- email: linked when the same browser session registered for and joined the same room, in
-- either order. This is how a subject access export finds a resident's questions.
create table registration_participants (
  tenant_id uuid not null,
  registration_id uuid not null,
  participant_id uuid not null,
  linked_at timestamptz not null default now(),
  primary key (registration_id, participant_id),
  foreign key (tenant_id, registration_id) references registrations(tenant_id, id) on delete cascade,
  foreign key (tenant_id, participant_id) references participants(tenant_id, id) on delete cascade
);
select townhall_tenant_table('registration_participants');
create index registration_participants_participant on registration_participants (participant_id);

-- Neighbourhoods/wards a tenant serves; rooms target one or more.
create table neighbourhoods (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  name text not null check (length(name) between 2 and 120),
  slug text not null check (slug ~ '^[a-z0-9]([a-z0-9-]{0,58}[a-z0-9])?$'),
  created_at timestamptz not null default now(),
  unique (tenant_id, id),
  unique (tenant_id, slug)
);
select townhall_tenant_table('neighbourhoods');

create table room_neighbourhoods (
  tenant_id uuid not null,
  room_id uuid not null,
  neighbourhood_id uuid not null,
  primary key (room_id, neighbourhood_id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade,
  foreign key (tenant_id, neighbourhood_id) references neighbourhoods(tenant_id, id) on delete cascade
);
select townhall_tenant_table('room_neighbourhoods');

-- Beat's way to find tenants with due engagement work (webhooks to retry, data requests to
-- remind about), before any tenant is in scope: tenant ids only.
create or replace function townhall_tenants_with_engagement_work(p_kind text, p_now timestamptz)
returns setof uuid
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if p_kind = 'webhooks' then
    return query select distinct e.tenant_id from escalations e
      where (e.webhook_status = 'pending' and e.webhook_next_at <= p_now)
         or (e.webhook_status = 'sending' and e.webhook_claimed_at <= p_now - interval '10 minutes');
  elsif p_kind = 'data_requests' then
    return query select distinct d.tenant_id from data_requests d
      where d.status = 'open' and d.reminded_at is null and d.due_at <= p_now + interval '7 days';
  else
    raise exception 'unknown kind of work: %', p_kind;
  end if;
end $$;
revoke all on function townhall_tenants_with_engagement_work(text, timestamptz) from public;
grant execute on function townhall_tenants_with_engagement_work(text, timestamptz) to townhall_app;
