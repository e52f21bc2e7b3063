-- The stored event is kept as `text`, not `json`: it is only ever written whole by
-- crm_event_payload and read whole (the feed and webhooks send it as it is), and a `json`
-- column parsed every payload again on its way in only to check it: 11,400 of the 141,000
-- instructions an event cost PostgreSQL (`bench/count`; the README has the figures). What
-- keeps it JSON now is how it is made: pieces db::events::Rendered renders with serde_json
-- (its unit tests parse every shape), around a timestamp, a version and lists of UUIDs; the
-- API tests that read events back parse them, and one parses every stored payload of every
-- way an event is appended (changes_records). Its function changes its return type with it,
-- so it is dropped here and re-created from sql/functions/crm_event_payload.sql.
--
-- `json` to `text` is a conversion through text: the table is rewritten under an exclusive
-- lock, so on a large feed writes wait while this runs (retention bounds its size).
alter table crm_events alter column payload type text;
drop function if exists crm_event_payload(text[], bigint, uuid[], uuid[]);
