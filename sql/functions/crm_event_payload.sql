-- The one place an event's payload is completed. db::events::Rendered renders the envelope
-- (documented as EventEnvelope in src/http/changes_doc.rs) as text pieces (an event row's
-- `payload`, crm_event_row) around the values only the writing transaction knows, and this
-- splices them in:
--   2 pieces: p1, p_time, p2;
--   5 pieces (a link change written here in SQL): p1, p_time, p2, p_version (the record's
--             version after the change), p3, p_added, p4, p_removed, p5.
-- p_time is crm_event_time(), `occurredAt`: an insert of many events passes it as a scalar
-- subquery, `(select crm_event_time())`, which PostgreSQL evaluates once per statement (per
-- row, its to_char was about 5,000 instructions of each event in a batch, `bench/count`).
--
-- Text, not json_build_object: the payload is stored and sent as the text it is (migrations
-- 0013 and 0017), and building it as JSON here (the envelope, the writer's context merged in,
-- the lists merged into `data`) was most of an event insert's CPU and made its expression
-- costly to set up on every call (the README has the figures). PostgreSQL sets the expression
-- up again for every insert, at a cost per node, so it is one `concat` (a chain of `||` was a
-- function per operator: 7,600 more instructions per event, `bench/count`), and concat skips
-- what is null: the version and lists an event of two pieces lacks. Nothing checks the pieces'
-- number here (a `case` on it cost 4,400): db::events::Rendered is their one renderer (only its
-- two shapes leave it, and its unit tests parse both), and the API tests parse what they read.
-- A single-expression SQL function, so PostgreSQL inlines it into the inserts that call it.
create or replace function crm_event_payload(p_pieces text[], p_time text, p_version bigint, p_added uuid[],
                                             p_removed uuid[])
returns text language sql stable as $$
    select concat(p_pieces[1], p_time, p_pieces[2], p_version, p_pieces[3], array_to_json(p_added), p_pieces[4],
                  array_to_json(p_removed), p_pieces[5])
$$;

-- An event's `occurredAt`: the transaction's timestamp, the one its `updatedAt` values carry,
-- formatted as every other timestamp the API sends.
create or replace function crm_event_time() returns text language sql stable as $$
    select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
$$;
