-- The event payload is rendered in Rust now (db::events), as text pieces around the values only
-- the writing transaction knows, which crm_event_payload splices in; the writer's context is
-- part of the pieces. The functions that took the context and the event as JSON to build the
-- payload change their arguments, so their old versions are dropped here and the new ones
-- re-created from sql/functions. `if exists`: on a fresh database the function files are
-- applied only after every migration.
drop function if exists crm_event_payload(uuid, text, text, uuid, bigint, jsonb, jsonb);
drop function if exists crm_events_append(uuid, jsonb, jsonb);
drop function if exists crm_link_change(uuid, uuid, crm_link_side, uuid, boolean, boolean, uuid[], uuid[], jsonb, jsonb, bigint);
drop function if exists crm_relation_apply(uuid, uuid, uuid, crm_link_side, uuid, uuid, boolean, boolean, uuid[], uuid[],
                                           bigint[], boolean, jsonb, jsonb);
drop function if exists crm_relation_apply_batch(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                                 integer[], uuid[], integer[], uuid[], integer[], bigint[], jsonb, jsonb);
drop function if exists crm_relation_apply_set(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                               integer[], uuid[], integer[], uuid[], integer[], bigint[], jsonb, jsonb);
