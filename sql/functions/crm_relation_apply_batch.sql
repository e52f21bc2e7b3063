-- The batch endpoint's operations as one server-side call: the records of every operation are
-- locked up front in record-id order (so overlapping batches, whatever their order, queue
-- instead of deadlocking), then each operation runs through crm_relation_apply, the relation
-- endpoint's own function, in request order. An operation therefore follows every rule of the
-- single endpoint and sees the effects of the operations before it (cardinality across a
-- batch is enforced as if the operations ran one after another, and If-Match sees the version
-- the earlier operations left).
--
-- Operation i (1-based) is p_records[i], p_sides[i], p_owners[i], p_related[i],
-- p_source_single[i], p_target_single[i]; its `add` IDs are the next p_add_counts[i] entries of
-- p_adds (and likewise for remove); its If-Match versions are the next p_expected_counts[i]
-- entries of p_expected, or no condition when the count is -1. p_context is the writer and
-- p_events -> (i - 1) operation i's crm.relation.updated event, as crm_relation_apply takes
-- them: each operation that changes something appends its one event there.
--
-- One row per operation, r_op 0-based, with crm_relation_apply's outcome and its columns. An
-- operation that is not applied wrote nothing, so the caller decides whether to commit (per
-- operation) or roll back (atomic). A cardinality or foreign-key violation aborts the call;
-- the caller then runs the operations one by one to find out which.
create or replace function crm_relation_apply_batch(
    p_org uuid,
    p_object uuid,
    p_records uuid[],
    p_sides crm_link_side[],
    p_owners uuid[],
    p_related uuid[],
    p_source_single boolean[],
    p_target_single boolean[],
    p_add_counts integer[],
    p_adds uuid[],
    p_remove_counts integer[],
    p_removes uuid[],
    p_expected_counts integer[],
    p_expected bigint[],
    p_context jsonb,
    p_events jsonb
) returns table (
    r_op integer,
    r_outcome crm_relation_outcome,
    r_version bigint,
    r_added uuid[],
    r_removed uuid[],
    r_missing uuid[],
    r_inactive uuid[]
) language plpgsql as $$
declare
    n integer := coalesce(cardinality(p_records), 0);
    a integer := 0;
    r integer := 0;
    e integer := 0;
    v_expected bigint[];
    v_row record;
begin
    perform crm_records_lock(p_org, p_records);

    for i in 1 .. n loop
        if p_expected_counts[i] < 0 then
            v_expected := null;
        else
            v_expected := coalesce(p_expected[e + 1 : e + p_expected_counts[i]], '{}');
            e := e + p_expected_counts[i];
        end if;
        select * into v_row
        from crm_relation_apply(p_org, p_object, p_records[i], p_sides[i], p_owners[i], p_related[i],
                                p_source_single[i], p_target_single[i],
                                coalesce(p_adds[a + 1 : a + p_add_counts[i]], '{}'),
                                coalesce(p_removes[r + 1 : r + p_remove_counts[i]], '{}'),
                                v_expected, false, p_context, p_events -> (i - 1));
        a := a + p_add_counts[i];
        r := r + p_remove_counts[i];
        r_op := i - 1;
        r_outcome := v_row.r_outcome;
        r_version := v_row.r_version;
        r_added := v_row.r_added;
        r_removed := v_row.r_removed;
        r_missing := v_row.r_missing;
        r_inactive := v_row.r_inactive;
        return next;
    end loop;
end;
$$;
