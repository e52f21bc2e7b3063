-- The relation endpoint's call, written once: db::relation runs it (compile-time checked by
-- sqlx), tests/api/plans.rs runs it through db::relation::call, and bench/run (scenario 2b)
-- reads this file and puts pgbench expressions in for $1..$13, which are, in order:
-- organization, object, record, side, owner (relation or user attribute id), related object,
-- source_single, target_single, add, remove, accepted versions (null: no If-Match), with_links,
-- and the relation event as db::events::Rendered renders it.
select r_outcome as "outcome!: ApplyOutcome", r_version as version, r_created_at as created_at,
       r_updated_at as updated_at, r_values as "values: Json<Map<String, Value>>", r_added as added,
       r_removed as removed, r_missing as missing, r_inactive as inactive,
       r_link_sides as "link_sides: Vec<LinkSide>", r_link_owners as link_owners, r_link_others as link_others
from crm_relation_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
