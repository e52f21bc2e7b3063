-- The one place an event's envelope is shaped (documented as EventEnvelope in
-- src/http/changes_doc.rs): the payload a crm_events row stores and the feed and webhooks
-- deliver. `occurredAt` is the transaction's timestamp, the one its `updatedAt` values carry;
-- p_context is the writer's (`{"actor": {"type", "id", "name"}, "requestId", "idempotencyKey"}`).
-- A single-expression SQL function, so PostgreSQL inlines it into the inserts that call it
-- (crm_events_append, crm_link_change). `json`, built as text in the order written here: it is
-- stored and sent as it is (migration 0013).
create or replace function crm_event_payload(p_id uuid, p_type text, p_object_slug text, p_record uuid,
                                             p_version bigint, p_context jsonb, p_data jsonb)
returns json language sql stable as $$
    select json_build_object(
        'id', p_id,
        'type', p_type,
        'occurredAt', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
        'objectSlug', p_object_slug,
        'recordId', p_record,
        'recordVersion', p_version,
        'actor', p_context -> 'actor',
        'requestId', p_context -> 'requestId',
        'idempotencyKey', p_context -> 'idempotencyKey',
        'data', p_data)
$$;
