-- db::relation_batch: the batch endpoint's call. Parameters in crm_relation_apply_batch's order;
-- db::relation_batch::Args documents them.
select r_op as "op!", r_outcome as "outcome!: ApplyOutcome", r_version as version, r_added as added,
       r_removed as removed, r_missing as missing, r_inactive as inactive
from crm_relation_apply_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
