-- Events reach the functions that append them as rows of a composite type, not as JSON: the
-- payload's pieces are JSON text, and carried inside a JSON document every quote in them was
-- escaped by the server and unescaped again by PostgreSQL's JSON parser on every write (the
-- README has the profile). A row is sent in binary, each field as it is. Its fields are
-- db::events::Rendered's, field for field and in this order (Rendered's `kind` is `type`). The functions that took the JSON change their arguments,
-- so their old versions are dropped here and the new ones re-created from sql/functions. `if
-- exists`: on a fresh database the function files are applied only after every migration.
create type crm_event_row as (
    id uuid,
    type text,
    aggregate_type text,
    aggregate_id uuid,
    object_slug text,
    related_object_slug text,
    record_id uuid,
    record_version bigint,
    payload text[]
);
drop function if exists crm_event_payload(jsonb, bigint, uuid[], uuid[]);
drop function if exists crm_events_append(uuid, jsonb);
drop function if exists crm_link_change(uuid, uuid, crm_link_side, uuid, boolean, boolean, uuid[], uuid[], jsonb, bigint);
drop function if exists crm_relation_apply(uuid, uuid, uuid, crm_link_side, uuid, uuid, boolean, boolean, uuid[], uuid[],
                                           bigint[], boolean, jsonb);
drop function if exists crm_relation_apply_batch(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                                 integer[], uuid[], integer[], uuid[], integer[], bigint[], jsonb);
drop function if exists crm_relation_apply_set(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                               integer[], uuid[], integer[], uuid[], integer[], bigint[], jsonb);
