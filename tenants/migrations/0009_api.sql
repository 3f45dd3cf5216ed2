-- The public API: tenant API tokens (only a hash is stored) and signed webhooks with a delivery
-- outbox (one row per event and endpoint; a Celery task sends it and retries with backoff).

create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  name text not null check (length(name) between 1 and 80),
  prefix text not null check (length(prefix) between 8 and 16),   -- shown in the console to tell tokens apart
  token_hash bytea not null unique,                              -- SHA-256 of the whole token
  scopes text[] not null check (scopes <@ array['read', 'write'] and cardinality(scopes) > 0),
  created_by uuid,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
select townhall_tenant_table('api_tokens');

create table webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants(id) on delete cascade,
  url text not null check (url ~ '^https?://' and length(url) <= 500),
  secret text not null,                                          -- signs each delivery (HMAC-SHA256)
  events text[] not null check (events <@ array['room.live', 'room.closed', 'transcript.ready']
                                and cardinality(events) > 0),
  active boolean not null default true,
  created_by uuid,
  created_at timestamptz not null default now(),
  unique (tenant_id, id)
);
select townhall_tenant_table('webhook_endpoints');

create table webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  endpoint_id uuid not null,
  event text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  last_status int,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  foreign key (tenant_id, endpoint_id) references webhook_endpoints(tenant_id, id) on delete cascade
);
select townhall_tenant_table('webhook_deliveries');
create index webhook_deliveries_pending on webhook_deliveries (status, created_at) where status = 'pending';
