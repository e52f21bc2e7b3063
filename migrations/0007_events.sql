-- The change feed: a transactional outbox. Every write appends its events in its own
-- transaction (no event without its change, no change without its event); GET /v2/changes
-- reads them in commit order, webhooks deliver them. Column names follow Debezium's outbox
-- event router (id, aggregatetype, aggregateid, type, payload; see the README).
create table crm_events (
    organization_id uuid not null references organizations on delete cascade,
    -- insertion order: taken before commit, so it orders events within one commit batch only
    seq bigint generated always as identity,
    -- the writing transaction; readers order batches by snapshots over it (see db::events)
    xid xid8 not null default pg_current_xact_id(),
    -- the event's stable id: the same event delivered twice has the same id
    event_id uuid not null default gen_random_uuid(),
    type text not null,
    aggregate_type text not null,
    aggregate_id uuid not null,
    object_slug text not null,
    -- relation events: the other side, so a feed filtered by either object finds the event
    related_object_slug text,
    record_id uuid,
    record_version bigint,
    occurred_at timestamptz not null default now(),
    -- the whole event as delivered
    payload jsonb not null,
    constraint crm_events_pkey primary key (organization_id, seq),
    constraint crm_events_type_check check (type in ('crm.record.created', 'crm.record.updated',
        'crm.record.deleted', 'crm.relation.updated', 'crm.object.created', 'crm.object.updated',
        'crm.attribute.created', 'crm.attribute.updated')),
    constraint crm_events_aggregate_type_check check (aggregate_type in ('record', 'object', 'attribute'))
);
-- Following the feed: the events of transactions not yet delivered are those at or after the
-- previous snapshot's xmin.
create index crm_events_xid_idx on crm_events (organization_id, xid);
-- Pruning by age. Rows arrive in time order, so a BRIN index finds the old ones for almost
-- nothing per insert (a btree would be one more index every writer appends to).
create index crm_events_occurred_at_idx on crm_events using brin (occurred_at);

-- Link writes record their crm.relation.updated events themselves (sql/functions/
-- crm_link_change.sql), so both functions take the writer's context now. `if exists`: on a
-- fresh database the function files are applied only after every migration.
drop function if exists crm_link_change(uuid, uuid, crm_link_side, uuid, boolean, boolean, uuid[], uuid[]);
drop function if exists crm_relation_apply(uuid, uuid, uuid, crm_link_side, uuid, uuid, boolean, boolean, uuid[], uuid[],
                                 bigint[], boolean);
