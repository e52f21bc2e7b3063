-- Webhook subscriptions and the log of their delivery attempts.
--
-- Each subscription carries its own position in the change feed (`cursor`, the feed's opaque
-- cursor: every event before it has been delivered or did not match `events`) and the retry
-- state of the event at that position. Workers of every server process share the work through
-- a lease on the subscription row (`lease_owner`, `lease_expires_at`): one worker delivers a
-- subscription's events at a time, in feed order, and the cursor moves only after a 2xx, so a
-- killed process loses nothing (its lease expires and another worker redelivers).

create table webhook_subscriptions (
    organization_id uuid not null references organizations on delete cascade,
    subscription_id uuid not null default gen_random_uuid(),
    name text,
    description text,
    callback_url text not null,
    events text[] not null,
    -- Sent as the `Token` header on every delivery, as Zeeg does.
    token text,
    -- The Standard Webhooks signing secret (`whsec_` + base64). Stored as is: signing needs it.
    secret text not null,
    creator_token_id uuid,
    status text not null default 'active',
    disabled_reason text,
    cursor text not null,
    -- Consecutive failed attempts at the event at `cursor`, and since when it fails.
    failed_attempts integer not null default 0,
    failing_since timestamptz,
    next_attempt_at timestamptz not null default now(),
    lease_owner uuid,
    lease_expires_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint webhook_subscriptions_pkey primary key (organization_id, subscription_id),
    constraint webhook_subscriptions_status_check check (status in ('active', 'disabled'))
);

-- Workers look subscriptions up by id alone, and find the due ones without scanning the rest.
create unique index webhook_subscriptions_id_key on webhook_subscriptions (subscription_id);
create index webhook_subscriptions_due_idx on webhook_subscriptions (next_attempt_at) where status = 'active';
create index webhook_subscriptions_listing_idx on webhook_subscriptions (organization_id, created_at, subscription_id);

-- One row per attempt (successful or not). Bounded: the pruner keeps the newest rows of each
-- subscription only (see db::webhook_deliveries::prune).
create table webhook_deliveries (
    organization_id uuid not null,
    subscription_id uuid not null,
    delivery_seq bigint generated always as identity,
    event_id uuid not null,
    event_type text not null,
    attempt integer not null,
    attempted_at timestamptz not null default now(),
    outcome text not null,
    status_code integer,
    error text,
    latency_ms integer not null,
    -- The receiver's answer, cut to at most 1 KiB.
    response_body text,
    next_retry_at timestamptz,
    constraint webhook_deliveries_pkey primary key (subscription_id, delivery_seq),
    constraint webhook_deliveries_subscription_fkey foreign key (organization_id, subscription_id)
        references webhook_subscriptions on delete cascade,
    constraint webhook_deliveries_outcome_check check (outcome in ('delivered', 'failed', 'disabled')),
    constraint webhook_deliveries_body_length check (octet_length(response_body) <= 1024)
);
