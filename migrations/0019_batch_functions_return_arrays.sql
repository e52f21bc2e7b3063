-- crm_link_change_set returns its changes as arrays instead of rows (the batch kept them as
-- arrays across rounds, so it aggregated the rows straight back), and crm_relation_apply_set
-- takes the number of rounds its caller already counted: the return type of one and the
-- arguments of the other change, so their old versions are dropped here and the new ones
-- re-created from sql/functions. `if exists`: on a fresh database the function files are
-- applied only after every migration.
drop function if exists crm_relation_apply_set(uuid, uuid, uuid[], crm_link_side[], uuid[], uuid[], boolean[], boolean[],
                                               integer[], uuid[], integer[], uuid[], integer[], bigint[], crm_event_row[]);
drop function if exists crm_link_change_set(uuid, boolean[], uuid[], crm_link_side[], uuid[], boolean[], boolean[], uuid[],
                                            integer[], uuid[], integer[]);
