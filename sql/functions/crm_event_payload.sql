-- The one place an event's payload is completed. db::events::Rendered renders the envelope
-- (documented as EventEnvelope in src/http/changes_doc.rs) as text pieces (an event row's
-- `payload`, crm_event_row) around the values only the writing transaction knows, and this
-- splices them in:
--   2 pieces: p1, the transaction's timestamp, p2;
--   5 pieces (a link change written here in SQL): p1, the timestamp, p2, p_version (the
--             record's version after the change), p3, p_added, p4, p_removed, p5.
-- `occurredAt` is the transaction's timestamp, the one its `updatedAt` values carry.
--
-- Text, not json_build_object: the payload is stored and sent as the text it is (migration
-- 0013), and building it as JSON here (the envelope, the writer's context merged in, the lists
-- merged into `data`) was most of an event insert's CPU and made its expression costly to set
-- up on every call (the README has the figures). The cast to json still checks the result.
-- A single-expression SQL function, so PostgreSQL inlines it into the inserts that call it.
create or replace function crm_event_payload(p_pieces text[], p_version bigint, p_added uuid[], p_removed uuid[])
returns json language sql stable as $$
    -- Any other number of pieces gives null, which the payload column refuses.
    select (p_pieces[1] || to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || p_pieces[2]
            || case cardinality(p_pieces)
                   when 2 then ''
                   when 5 then p_version::text || p_pieces[3] || array_to_json(p_added)::text
                               || p_pieces[4] || array_to_json(p_removed)::text || p_pieces[5]
               end)::json
$$;
