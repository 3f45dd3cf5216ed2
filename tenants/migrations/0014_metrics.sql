-- Platform-wide figures for the Prometheus /metrics endpoint. The app role cannot see across
-- tenants, so two SECURITY DEFINER functions (owned by the owner role, like
-- townhall_tenants_with_due_work) return counts and tenant ids only: never names, text or people.

create or replace function townhall_live_room_count()
returns integer
language sql stable security definer set search_path = public, pg_temp as $$
  select count(*)::integer from rooms where state = 'live';
$$;
revoke all on function townhall_live_room_count() from public;
grant execute on function townhall_live_room_count() to townhall_app;

-- Pending questions per tenant (only tenants that have some): how many and the oldest one's age.
create or replace function townhall_moderation_queues(p_now timestamptz)
returns table (tenant_id uuid, pending integer, oldest_seconds double precision)
language sql stable security definer set search_path = public, pg_temp as $$
  select q.tenant_id, count(*)::integer, extract(epoch from p_now - min(q.created_at))::double precision
    from questions q join rooms r on r.tenant_id = q.tenant_id and r.id = q.room_id
   where q.status = 'pending' and r.state = 'live'
   group by q.tenant_id;
$$;
revoke all on function townhall_moderation_queues(timestamptz) from public;
grant execute on function townhall_moderation_queues(timestamptz) to townhall_app;
