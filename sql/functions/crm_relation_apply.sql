-- The relation endpoint's change as one server-side function, so a request that needs no
-- Idempotency-Key bookkeeping costs a single round trip: lock the record, check If-Match,
-- validate every `add` target at once (crm_link_unlinkable), change the links (crm_link_change,
-- the one writer of links), bump the version only if something changed, and report what
-- really changed, with the record's links when asked for.
--
-- p_side: 'source' or 'target' (a relation attribute and which end of its links the record is),
--         or 'user' (a user attribute; p_owner is then its attribute id).
-- p_expected: versions If-Match accepts (null: no condition).
-- p_event: its crm.relation.updated event as Rust renders it (see crm_link_change), appended
--         after the record's row lock, so one record's events follow its versions.
--
-- Which columns are set depends on r_outcome; the server refuses a row that lacks one it needs:
--   applied              r_version, r_created_at, r_updated_at, r_values, r_added, r_removed;
--                        with p_with_links also r_link_sides/owners/others (empty when none)
--   not_found            nothing else
--   precondition_failed  r_version (the record's current version)
--   invalid              r_missing and/or r_inactive (crm_link_unlinkable)
create or replace function crm_relation_apply(
    p_org uuid,
    p_object uuid,
    p_record uuid,
    p_side crm_link_side,
    p_owner uuid,
    p_related_object uuid,
    p_source_single boolean,
    p_target_single boolean,
    p_add uuid[],
    p_remove uuid[],
    p_expected bigint[],
    p_with_links boolean,
    p_event crm_event_row
) returns table (
    r_outcome crm_relation_outcome,
    r_version bigint,
    r_created_at timestamptz,
    r_updated_at timestamptz,
    r_values jsonb,
    r_added uuid[],
    r_removed uuid[],
    r_missing uuid[],
    r_inactive uuid[],
    r_link_sides crm_link_side[],
    r_link_owners uuid[],
    r_link_others uuid[]
) language plpgsql
-- Plans that do not depend on the call: PL/pgSQL keeps each statement's plan, but a statement
-- with parameters is planned afresh with the call's values for as long as those custom plans
-- look cheaper than the generic plan, and with array parameters (whose length is known) they
-- always do: planning was a fifth of PostgreSQL's CPU per relation request. Every statement
-- here is a key lookup. No sequential scans: a generic plan is kept for the session (until an
-- analyze of its tables), and one made while a table was still small would scan it whole on
-- every call (each link delete did, on a fresh database). PL/pgSQL keeps one plan per statement
-- and session whoever calls, so crm_link_change and crm_link_unlinkable, which Rust also calls
-- directly, carry the same two settings themselves. No bitmap scans either: the read-back of
-- the full response relies on it (see crm_links_of_record).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off as $$
declare
    rec crm_records%rowtype;
    v_added uuid[];
    v_removed uuid[];
    v_missing uuid[];
    v_inactive uuid[];
    v_sides crm_link_side[];
    v_owners uuid[];
    v_others uuid[];
begin
    -- Writers of one record queue here, so their link changes never interleave. By primary key
    -- only (the object is checked on the row): with object_id in the condition the planner may
    -- pick the listing index and walk every record of the object.
    select * into rec from crm_records
    where organization_id = p_org and record_id = p_record
    for no key update;
    if not found or rec.object_id <> p_object then
        r_outcome := 'not_found';
        return next;
        return;
    end if;
    if p_expected is not null and not (rec.version = any(p_expected)) then
        r_outcome := 'precondition_failed';
        r_version := rec.version;
        return next;
        return;
    end if;

    if cardinality(p_add) > 0 then
        select u.r_missing, u.r_inactive into v_missing, v_inactive
        from crm_link_unlinkable(p_org, p_side, p_related_object, p_add) as u;
        if v_missing is not null or v_inactive is not null then
            r_outcome := 'invalid';
            r_missing := v_missing;
            r_inactive := v_inactive;
            return next;
            return;
        end if;
    end if;

    select c.r_added, c.r_removed into v_added, v_removed
    from crm_link_change(p_org, p_record, p_side, p_owner, p_source_single, p_target_single, p_add, p_remove,
                         p_event, rec.version + 1) as c;

    if cardinality(v_added) > 0 or cardinality(v_removed) > 0 then
        update crm_records set version = version + 1, updated_at = now()
        where organization_id = p_org and record_id = p_record
        returning * into rec;
    end if;

    if p_with_links then
        select coalesce(array_agg(x.side order by x.link_seq), '{}'),
               coalesce(array_agg(x.owner_id order by x.link_seq), '{}'),
               coalesce(array_agg(x.other_id order by x.link_seq), '{}')
        into v_sides, v_owners, v_others
        from crm_links_of_record(p_org, p_record) as x;
    end if;

    return query select 'applied'::crm_relation_outcome, rec.version, rec.created_at, rec.updated_at, rec."values",
        v_added, v_removed, null::uuid[], null::uuid[], v_sides, v_owners, v_others;
end;
$$;
