-- The stored event is only ever written whole and read whole (the feed and webhooks send it
-- as it is), never queried inside: `json` keeps it as the text it is sent as. With `jsonb`
-- every page of the feed converted each payload back to text, 11 of the 13 ms a page of 1,000
-- events took. Its envelope function changes its return type with it, so it is dropped here
-- and re-created from sql/functions/crm_event_payload.sql.
alter table crm_events alter column payload type json using payload::json;
drop function if exists crm_event_payload(uuid, text, text, uuid, bigint, jsonb, jsonb);
