-- The IDs among p_ids that cannot be linked: not records of p_related_object in the
-- organization (r_missing), or for a user attribute (p_side 'user') not members of the
-- organization (r_missing) or deactivated members (r_inactive). Null when there are none;
-- unordered (callers report them in request order).
--
-- Records found are locked FOR KEY SHARE until the caller's transaction ends: links keep no
-- foreign keys to their records (migration 0018), and this lock is what keeps a record from
-- being deleted under the links about to be written to it. A record whose delete is under way
-- is waited for, then found missing. Every writer of links validates its IDs here (or in
-- crm_link_unlinkable_set) first.
create or replace function crm_link_unlinkable(
    p_org uuid,
    p_side crm_link_side,
    p_related_object uuid,
    p_ids uuid[],
    out r_missing uuid[],
    out r_inactive uuid[]
) language plpgsql volatile
-- generic plans, no sequential scans: see crm_relation_apply
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
begin
    if p_side = 'user' then
        -- A scalar subquery per ID, as for records below: as a join, a plan made for a guessed
        -- number of IDs could hash every member of the organization.
        select array_agg(s.a) filter (where s.active is null), array_agg(s.a) filter (where not s.active)
        into r_missing, r_inactive
        from (select a, (select m.is_active from members m where m.organization_id = p_org and m.member_id = a) as active
              from unnest(p_ids) as a) as s;
    else
        -- A scalar subquery per ID: always a primary-key lookup. Written as NOT EXISTS, the
        -- planner may turn it into an anti-join that scans the whole related object.
        select array_agg(a) into r_missing
        from unnest(p_ids) as a
        where (select t.object_id from crm_records t
               where t.organization_id = p_org and t.record_id = a for key share) is distinct from p_related_object;
    end if;
end;
$$;

-- crm_link_unlinkable for the IDs of many operations at once (crm_relation_apply_batch): ID k
-- is p_ids[k], of operation p_id_ops[k], which links through side p_sides[op] to records of
-- p_related[op] (null for a user attribute). One row per ID that cannot be linked: its position
-- k and whether it is a deactivated member (else it is missing). Records found are locked as in
-- crm_link_unlinkable. PL/pgSQL: a query that locks makes a function volatile, and PostgreSQL
-- (before 18) plans a volatile SQL function's body afresh on every call.
create or replace function crm_link_unlinkable_set(
    p_org uuid,
    p_sides crm_link_side[],
    p_related uuid[],
    p_ids uuid[],
    p_id_ops integer[]
) returns table (r_index integer, r_inactive boolean) language plpgsql volatile
-- generic plans, no sequential scans: see crm_relation_apply
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
begin
    -- A scalar subquery per ID, as in crm_link_unlinkable: the plan is generic, and as a join
    -- it could hash every member of the organization.
    return query
    select s.k::integer, s.active is not null
    from (select a.k, o.side, o.related,
                 case when o.side = 'user'
                      then (select m.is_active from members m where m.organization_id = p_org and m.member_id = a.id) end
                     as active,
                 case when o.side <> 'user'
                      then (select t.object_id from crm_records t
                            where t.organization_id = p_org and t.record_id = a.id for key share) end as object_id
          from unnest(p_ids, p_id_ops) with ordinality as a (id, op, k)
          join unnest(p_sides, p_related) with ordinality as o (side, related, op) on o.op = a.op) as s
    where case when s.side = 'user' then s.active is distinct from true else s.object_id is distinct from s.related end;
end;
$$;
