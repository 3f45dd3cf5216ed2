-- Recordings follow the tenant's rule too: a tenant that sets `recordings_retention_days` has its
-- recordings (files and rows, with their captions) deleted that long after their chat ended, so
-- the daily retention task must visit a tenant that has recordings and such a setting.
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
         or exists (select 1 from participants p where p.tenant_id = t.id and p.network_hash is not null)
         or (jsonb_typeof(t.settings -> 'recordings_retention_days') = 'number'
             and exists (select 1 from media m where m.tenant_id = t.id));
  else
    raise exception 'unknown kind of work: %', p_kind;
  end if;
end $$;
