-- Locks the given records of the organization for the rest of the transaction, in record-id
-- order: writers that lock their records through here queue behind each other instead of
-- deadlocking, whatever order their requests list the records in. Missing ids are skipped.
--
-- One primary-key lookup per ID, in ID order: the sorted subquery cannot be flattened (it has
-- an ORDER BY) and the lateral one cannot either (it locks), so the nested loop runs the
-- lookups, and takes the locks, in that order. `record_id = any(p_records)` left the plan to
-- the estimate for "records of this organization": without statistics (a fresh or growing
-- table) the planner took it for a handful and read every record of the organization,
-- comparing each with every ID (1,200 records and 100 IDs: a fifth of what PostgreSQL spent on
-- a batch of 100, bench/count).
create or replace function crm_records_lock(p_org uuid, p_records uuid[]) returns void
language plpgsql
-- generic plans, no sequential scans: see crm_relation_apply
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
begin
    perform 1
    from (select distinct r.id from unnest(p_records) as r (id) order by r.id) as s,
         lateral (select 1 from crm_records c
                  where c.organization_id = p_org and c.record_id = s.id
                  for no key update) as l;
end;
$$;
