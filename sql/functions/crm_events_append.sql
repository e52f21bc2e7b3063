-- Appends events in one statement; the one place the envelope is shaped (documented as
-- EventEnvelope in src/http/changes_doc.rs). Called with the
-- writer's context (`{"actor": {"type", "id", "name"}, "requestId", "idempotencyKey"}`) and the
-- events as a JSON array of `{type, aggregate_type, aggregate_id, object_slug,
-- related_object_slug, record_id, record_version, data}`, from Rust (db::events::append) or from
-- inside another SQL statement, so a write that is one statement stays one statement.
-- `occurredAt` is the transaction's timestamp, the one its `updatedAt` values carry.
create or replace function crm_events_append(p_org uuid, p_context jsonb, p_events jsonb) returns integer
language sql volatile as $$
    with appended as (
        insert into crm_events (organization_id, event_id, type, aggregate_type, aggregate_id, object_slug,
                                related_object_slug, record_id, record_version, payload)
        select p_org, e.id, e.type, e.aggregate_type, e.aggregate_id, e.object_slug, e.related_object_slug,
               e.record_id, e.record_version,
               jsonb_build_object(
                   'id', e.id,
                   'type', e.type,
                   'occurredAt', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                   'objectSlug', e.object_slug,
                   'recordId', e.record_id,
                   'recordVersion', e.record_version,
                   'actor', p_context -> 'actor',
                   'requestId', p_context -> 'requestId',
                   'idempotencyKey', p_context -> 'idempotencyKey',
                   'data', e.data)
        from (select gen_random_uuid() as id, r.*
              from jsonb_to_recordset(p_events) as r (type text, aggregate_type text, aggregate_id uuid,
                   object_slug text, related_object_slug text, record_id uuid, record_version bigint,
                   data jsonb)) as e
        returning 1)
    select count(*)::integer from appended
$$;
