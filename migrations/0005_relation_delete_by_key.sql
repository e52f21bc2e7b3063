-- crm_relation_apply (0004) with deletes that look each link up by its whole key.
--
-- `delete … where target_id = any(p_remove)` (and its join form with unnest) leave the plan to
-- the row estimate for "links of this record": without statistics, or for a record that is not
-- among the most common values, the planner expects a handful and scans every link of the
-- record, filtering by the IDs. On a record with 600 links that was 1.9 ms and 629 buffers per
-- request, growing with the relation. A scalar subquery on one table turns every key column
-- into an index condition whatever the estimates, so each ID is found by one index lookup and
-- deleted by its tuple id (a TID scan: any other condition on the delete would invite the
-- prefix scan back). The tuple ids are read in the statement's own snapshot, so they name
-- exactly the links found; links are never updated in place.

create or replace function crm_relation_apply(
    p_org uuid,
    p_object uuid,
    p_record uuid,
    p_side text,
    p_owner uuid,
    p_related_object uuid,
    p_source_single boolean,
    p_target_single boolean,
    p_add uuid[],
    p_remove uuid[],
    p_expected bigint[],
    p_with_links boolean
) returns table (
    r_outcome text,
    r_version bigint,
    r_created_at timestamptz,
    r_updated_at timestamptz,
    r_values jsonb,
    r_added uuid[],
    r_removed uuid[],
    r_missing uuid[],
    r_inactive uuid[],
    r_link_kinds text[],
    r_link_owners uuid[],
    r_link_others uuid[]
) language plpgsql as $$
declare
    rec crm_records%rowtype;
    v_added uuid[];
    v_removed uuid[];
    v_missing uuid[];
    v_inactive uuid[];
    v_kinds text[];
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
        return query select 'not_found', null::bigint, null::timestamptz, null::timestamptz, null::jsonb,
            null::uuid[], null::uuid[], null::uuid[], null::uuid[], null::text[], null::uuid[], null::uuid[];
        return;
    end if;
    if p_expected is not null and not (rec.version = any(p_expected)) then
        return query select 'precondition_failed', rec.version, rec.created_at, rec.updated_at, null::jsonb,
            null::uuid[], null::uuid[], null::uuid[], null::uuid[], null::text[], null::uuid[], null::uuid[];
        return;
    end if;

    if cardinality(p_add) > 0 then
        if p_side = 'user' then
            select array_agg(a) filter (where m.member_id is null),
                   array_agg(a) filter (where m.member_id is not null and not m.is_active)
            into v_missing, v_inactive
            from unnest(p_add) as a
            left join members m on m.organization_id = p_org and m.member_id = a;
        else
            -- A scalar subquery per ID: always a primary-key lookup. Written as NOT EXISTS, the
            -- planner may turn it into an anti-join that scans the whole related object.
            select array_agg(a) into v_missing
            from unnest(p_add) as a
            where (select t.object_id from crm_records t
                   where t.organization_id = p_org and t.record_id = a) is distinct from p_related_object;
        end if;
        if v_missing is not null or v_inactive is not null then
            return query select 'invalid', rec.version, rec.created_at, rec.updated_at, null::jsonb,
                null::uuid[], null::uuid[], v_missing, v_inactive, null::text[], null::uuid[], null::uuid[];
            return;
        end if;
    end if;

    if p_side = 'source' then
        with d as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.source_id = p_record
                                     and x.relation_id = p_owner and x.target_id = r)
                           from unnest(p_remove) as r))
                   returning l.target_id)
        select array_agg(d.target_id) into v_removed from d;
        with i as (insert into crm_record_links as l
                       (organization_id, source_id, relation_id, target_id, source_single, target_single)
                   select p_org, p_record, p_owner, t, p_source_single, p_target_single
                   from unnest(p_add) as t order by t
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.target_id)
        select array_agg(i.target_id) into v_added from i;
    elsif p_side = 'target' then
        with d as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.target_id = p_record
                                     and x.relation_id = p_owner and x.source_id = r)
                           from unnest(p_remove) as r))
                   returning l.source_id)
        select array_agg(d.source_id) into v_removed from d;
        with i as (insert into crm_record_links as l
                       (organization_id, target_id, relation_id, source_id, source_single, target_single)
                   select p_org, p_record, p_owner, s, p_source_single, p_target_single
                   from unnest(p_add) as s order by s
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.source_id)
        select array_agg(i.source_id) into v_added from i;
    else
        with d as (delete from crm_record_members m
                   where m.ctid = any(array(
                           select (select x.ctid from crm_record_members x
                                   where x.organization_id = p_org and x.record_id = p_record
                                     and x.attribute_id = p_owner and x.member_id = r)
                           from unnest(p_remove) as r))
                   returning m.member_id)
        select array_agg(d.member_id) into v_removed from d;
        with i as (insert into crm_record_members as m (organization_id, record_id, attribute_id, member_id)
                   select p_org, p_record, p_owner, x from unnest(p_add) as x order by x
                   on conflict (organization_id, record_id, attribute_id, member_id) do nothing
                   returning m.member_id)
        select array_agg(i.member_id) into v_added from i;
    end if;

    if v_added is not null or v_removed is not null then
        update crm_records set version = version + 1, updated_at = now()
        where organization_id = p_org and record_id = p_record
        returning * into rec;
    end if;

    if p_with_links then
        select array_agg(x.kind order by x.link_seq), array_agg(x.owner_id order by x.link_seq),
               array_agg(x.other_id order by x.link_seq)
        into v_kinds, v_owners, v_others
        from (select 'S' as kind, l.relation_id as owner_id, l.target_id as other_id, l.link_seq
              from crm_record_links l where l.organization_id = p_org and l.source_id = p_record
              union all
              select 'T', l.relation_id, l.source_id, l.link_seq
              from crm_record_links l where l.organization_id = p_org and l.target_id = p_record
              union all
              select 'U', m.attribute_id, m.member_id, m.link_seq
              from crm_record_members m where m.organization_id = p_org and m.record_id = p_record) as x;
    end if;

    return query select 'applied', rec.version, rec.created_at, rec.updated_at, rec."values",
        coalesce(v_added, '{}'), coalesce(v_removed, '{}'), null::uuid[], null::uuid[],
        v_kinds, v_owners, v_others;
end;
$$;
