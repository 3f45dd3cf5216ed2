-- Live captions (issue 20): the final lines the caption worker made from a staff member's
-- microphone in a live room. One row per phrase, keyed by its first sample in the room's audio,
-- so a restarted worker that decodes a phrase again cannot store it twice.
create table live_captions (
  tenant_id uuid not null,
  room_id uuid not null,
  segment bigint not null check (segment >= 0),
  end_sample bigint not null check (end_sample > segment),
  body text not null check (length(body) between 1 and 2000),
  engine text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, room_id, segment),
  foreign key (tenant_id, room_id) references rooms(tenant_id, id) on delete cascade
);
select townhall_tenant_table('live_captions');
