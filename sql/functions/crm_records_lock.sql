-- Locks the given records of the organization for the rest of the transaction, in record-id
-- order: writers that lock their records through here queue behind each other instead of
-- deadlocking, whatever order their requests list the records in. (LockRows runs above the
-- sort, so rows are locked in that order; PERFORM reads every row.) Missing ids are skipped.
create or replace function crm_records_lock(p_org uuid, p_records uuid[]) returns void
language plpgsql as $$
begin
    perform 1 from crm_records
    where organization_id = p_org and record_id = any(p_records)
    order by record_id
    for no key update;
end;
$$;
