-- The IDs among p_ids that cannot be linked: not records of p_related_object in the
-- organization (r_missing), or for a user attribute (p_side 'user') not members of the
-- organization (r_missing) or deactivated members (r_inactive). Null when there are none;
-- unordered (callers report them in request order).
create or replace function crm_link_unlinkable(
    p_org uuid,
    p_side crm_link_side,
    p_related_object uuid,
    p_ids uuid[],
    out r_missing uuid[],
    out r_inactive uuid[]
) language plpgsql stable as $$
begin
    if p_side = 'user' then
        select array_agg(a) filter (where m.member_id is null),
               array_agg(a) filter (where m.member_id is not null and not m.is_active)
        into r_missing, r_inactive
        from unnest(p_ids) as a
        left join members m on m.organization_id = p_org and m.member_id = a;
    else
        -- A scalar subquery per ID: always a primary-key lookup. Written as NOT EXISTS, the
        -- planner may turn it into an anti-join that scans the whole related object.
        select array_agg(a) into r_missing
        from unnest(p_ids) as a
        where (select t.object_id from crm_records t
               where t.organization_id = p_org and t.record_id = a) is distinct from p_related_object;
    end if;
end;
$$;
