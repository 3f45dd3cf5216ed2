-- Rooms and the live session: questions, answers, announcements, polls, votes, private
-- messages to residents, and the two resumable event logs (public room stream, staff stream).

create table rooms (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  title text not null check (length(title) between 3 and 140),
  description text not null default '' check (length(description) <= 5000),
  tags text[] not null default '{}',
  area text not null default '' check (length(area) <= 120),
  starts_at timestamptz not null,
  ends_at timestamptz not null check (ends_at > starts_at),
  mode text not null default 'moderated' check (mode in ('moderated', 'open')),
  votes_enabled boolean not null default true,
  slow_mode_seconds int not null default 30 check (slow_mode_seconds between 0 and 3600),
  welcome_text text not null default '' check (length(welcome_text) <= 2000),
  signposting_text text not null default '' check (length(signposting_text) <= 2000),
  closing_text text not null default '' check (length(closing_text) <= 2000),
  language text not null default 'en' check (language in ('en', 'cy')),
  state text not null default 'draft' check (state in ('draft', 'scheduled', 'live', 'closed', 'archived')),
  last_seq bigint not null default 0,
  staff_last_seq bigint not null default 0,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  opened_at timestamptz,
  closed_at timestamptz,
  unique (tenant_id, id)
);
select townhall_tenant_table('rooms');
create index rooms_tenant_starts on rooms (tenant_id, starts_at);

create table room_staff (
  tenant_id uuid not null,
  room_id uuid not null,
  staff_id uuid not null,
  role text not null check (role in ('host', 'moderator', 'panelist')),
  primary key (room_id, staff_id, role),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade,
  foreign key (tenant_id, staff_id) references staff_users(tenant_id, id) on delete cascade
);
select townhall_tenant_table('room_staff');

create table participants (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  display_name text not null check (length(display_name) between 2 and 40),
  network_hash text,            -- a keyed hash of the IP: personal data, purged by retention
  last_question_at timestamptz,
  blocked boolean not null default false,
  created_at timestamptz not null default now(),
  unique (tenant_id, id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('participants');
create index participants_room on participants (room_id);

create table questions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  participant_id uuid not null,
  body text not null check (length(body) between 1 and 1000),
  original_body text not null,
  status text not null default 'pending'
    check (status in ('pending', 'published', 'rejected', 'hidden', 'escalated')),
  flags text[] not null default '{}',
  rejection_reason text,
  assigned_to uuid,
  asked_in_advance boolean not null default false,
  vote_count int not null default 0,
  created_at timestamptz not null default now(),
  moderated_at timestamptz,
  moderated_by uuid,
  published_at timestamptz,
  unique (tenant_id, id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade,
  foreign key (tenant_id, participant_id) references participants(tenant_id, id) on delete cascade
);
select townhall_tenant_table('questions');
create index questions_room_status on questions (room_id, status, created_at);

create table answers (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  question_id uuid not null,
  staff_id uuid not null,
  body text not null check (length(body) between 1 and 5000),
  created_at timestamptz not null default now(),
  foreign key (tenant_id, question_id) references questions(tenant_id, id) on delete cascade,
  foreign key (tenant_id, staff_id) references staff_users(tenant_id, id)
);
select townhall_tenant_table('answers');
create index answers_question on answers (question_id);

create table private_messages (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  participant_id uuid not null,
  question_id uuid,
  kind text not null check (kind in ('emergency', 'rejected', 'reply')),
  body text not null,
  created_at timestamptz not null default now(),
  foreign key (tenant_id, participant_id) references participants(tenant_id, id) on delete cascade
);
select townhall_tenant_table('private_messages');
create index private_messages_participant on private_messages (participant_id, created_at);

create table announcements (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  staff_id uuid not null,
  body text not null check (length(body) between 1 and 2000),
  pinned boolean not null default true,
  created_at timestamptz not null default now(),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('announcements');

create table polls (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  prompt text not null check (length(prompt) between 3 and 300),
  kind text not null default 'single' check (kind in ('single', 'multiple')),
  options jsonb not null,
  results_visibility text not null default 'live' check (results_visibility in ('live', 'after_close')),
  state text not null default 'open' check (state in ('open', 'closed')),
  created_by uuid not null,
  created_at timestamptz not null default now(),
  closed_at timestamptz,
  unique (tenant_id, id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('polls');

create table poll_votes (
  tenant_id uuid not null,
  poll_id uuid not null,
  participant_id uuid not null,
  option_ids int[] not null,
  created_at timestamptz not null default now(),
  primary key (poll_id, participant_id),
  foreign key (tenant_id, poll_id) references polls(tenant_id, id) on delete cascade,
  foreign key (tenant_id, participant_id) references participants(tenant_id, id) on delete cascade
);
select townhall_tenant_table('poll_votes');

create table question_votes (
  tenant_id uuid not null,
  question_id uuid not null,
  participant_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (question_id, participant_id),
  foreign key (tenant_id, question_id) references questions(tenant_id, id) on delete cascade,
  foreign key (tenant_id, participant_id) references participants(tenant_id, id) on delete cascade
);
select townhall_tenant_table('question_votes');

-- The record of everything public that happened in a room, in order. Clients resume from it.
create table room_events (
  tenant_id uuid not null,
  room_id uuid not null,
  seq bigint not null,
  type text not null,
  data jsonb not null,
  created_at timestamptz not null default now(),
  primary key (room_id, seq),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('room_events');

-- The same for staff only: pending questions, screening flags, moderation decisions.
create table staff_events (
  tenant_id uuid not null,
  room_id uuid not null,
  seq bigint not null,
  type text not null,
  data jsonb not null,
  created_at timestamptz not null default now(),
  primary key (room_id, seq),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('staff_events');
