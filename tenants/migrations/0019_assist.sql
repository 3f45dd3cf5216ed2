-- Moderator assist (services/assist, docs/assist.md): each question's sentence embedding, kept
-- to compare later questions of the room with it; the group of similar questions a question is
-- in (the id of the question the group grew from); and theme suggestions staff accept or reject.

alter table questions add column group_id uuid;
create index questions_room_group on questions (room_id, group_id) where group_id is not null;

create table question_embeddings (
  tenant_id uuid not null,
  question_id uuid primary key,
  room_id uuid not null,
  engine text not null,                 -- the engine that wrote it (ASSIST_ENGINE): never compare across engines
  language text not null check (language in ('en', 'cy', 'mixed')),
  embedding bytea not null,             -- float32, little-endian, L2-normalised
  split_out boolean not null default false,   -- a moderator took it out of a group: never regrouped
  created_at timestamptz not null default now(),
  foreign key (tenant_id, question_id) references questions(tenant_id, id) on delete cascade,
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('question_embeddings');
create index question_embeddings_room on question_embeddings (room_id, created_at desc);

-- A suggested theme for an untagged question of a closed chat. Nothing is tagged until a member
-- of staff accepts it (question_themes gets the row then, tagged_by them).
create table theme_suggestions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  room_id uuid not null,
  question_id uuid not null,
  theme_id uuid not null,
  score real not null,
  state text not null default 'suggested' check (state in ('suggested', 'accepted', 'rejected')),
  decided_by uuid,
  decided_at timestamptz,
  created_at timestamptz not null default now(),
  unique (tenant_id, id),
  unique (question_id, theme_id),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade,
  foreign key (tenant_id, question_id) references questions(tenant_id, id) on delete cascade,
  foreign key (tenant_id, theme_id) references themes(tenant_id, id) on delete cascade
);
select townhall_tenant_table('theme_suggestions');
create index theme_suggestions_room on theme_suggestions (room_id, state);
