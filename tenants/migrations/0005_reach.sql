-- Reach: Welsh titles and descriptions for rooms, and a short code per room for the short link
-- `/r/<code>` on the platform host (posters, QR codes, share links).

alter table rooms
  add column title_cy text not null default '' check (length(title_cy) <= 140),
  add column description_cy text not null default '' check (length(description_cy) <= 5000),
  add column short_code text not null default substr(md5(gen_random_uuid()::text), 1, 10)
    check (short_code ~ '^[a-z0-9]{6,16}$');
-- Global: the short link is resolved before any tenant is known.
create unique index rooms_short_code on rooms (short_code);

-- The short link resolves on the platform host, before any tenant is in scope: this returns
-- one public room's tenant slug and id, never a list, and nothing for drafts.
create or replace function townhall_room_by_short_code(p_code text)
returns table (slug text, room_id uuid)
language sql stable security definer set search_path = public, pg_temp as $$
  select t.slug, r.id from rooms r join tenants t on t.id = r.tenant_id
  where r.short_code = lower(p_code) and r.state in ('scheduled', 'live', 'closed', 'archived')
    and t.state in ('trial', 'active')
$$;
revoke all on function townhall_room_by_short_code(text) from public;
grant execute on function townhall_room_by_short_code(text) to townhall_app;
