-- Functions whose arguments or return type change, so their old versions are dropped here and
-- the new ones re-created from sql/functions (`if exists`: on a fresh database the function
-- files are applied only after every migration):
--   crm_link_change_set returns its changes as arrays instead of rows (the batch kept them as
--     arrays across rounds, so it aggregated the rows straight back);
--   crm_relation_apply_set takes the number of rounds its caller already counted;
--   crm_event_payload takes the formatted time (crm_event_time()), so that an insert of many
--     events formats it once.
drop function if exists crm_relation_apply_set(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                               integer[], uuid[], integer[], uuid[], integer[], bigint[], crm_event_row[]);
drop function if exists crm_link_change_set(uuid, boolean[], uuid[], crm_link_side[], uuid[], boolean[], boolean[], uuid[],
                                            integer[], uuid[], integer[]);
drop function if exists crm_event_payload(text[], bigint, uuid[], uuid[]);
