-- Appends events in one statement, from Rust (db::events::append): p_events are the events as
-- db::events::Rendered renders them (crm_event_row), each payload the pieces crm_event_payload
-- completes. (Link changes append their events themselves: crm_link_change, and
-- crm_relation_apply_set for a batch.)
--
-- PL/pgSQL, not `language sql`: PostgreSQL (before 18) plans the body of a SQL function that
-- cannot be inlined afresh on every call, and an insert never is; per call that was about
-- 190 µs against 60 µs here, where the plan is kept for the session.
create or replace function crm_events_append(p_org uuid, p_events crm_event_row[]) returns integer
language plpgsql volatile as $$
declare
    n integer;
begin
    insert into crm_events (organization_id, event_id, type, aggregate_type, aggregate_id, object_slug,
                            related_object_slug, record_id, record_version, payload)
    select p_org, e.id, e.type, e.aggregate_type, e.aggregate_id, e.object_slug, e.related_object_slug,
           e.record_id, e.record_version, crm_event_payload(e.payload, (select crm_event_time()), null, null, null)
    from unnest(p_events) as e;
    get diagnostics n = row_count;
    return n;
end;
$$;
