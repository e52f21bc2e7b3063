-- Every link of the given records, from both sides: `side` is the end the record is on
-- ('source'/'target' of a relation's link, 'user' for a member link), `owner_id` the relation
-- id or user attribute id, `other_id` the record or member at the other end. Order by
-- link_seq for "in the order they were linked". A plain SQL function, so the planner inlines
-- it into the calling query (index-only scans of the three link indexes).
create or replace function crm_links_of(p_org uuid, p_records uuid[])
returns table (record_id uuid, side crm_link_side, owner_id uuid, other_id uuid, link_seq bigint)
language sql stable as $$
    select l.source_id, 'source'::crm_link_side, l.relation_id, l.target_id, l.link_seq
    from crm_record_links l where l.organization_id = p_org and l.source_id = any(p_records)
    union all
    select l.target_id, 'target'::crm_link_side, l.relation_id, l.source_id, l.link_seq
    from crm_record_links l where l.organization_id = p_org and l.target_id = any(p_records)
    union all
    select m.record_id, 'user'::crm_link_side, m.attribute_id, m.member_id, m.link_seq
    from crm_record_members m where m.organization_id = p_org and m.record_id = any(p_records)
$$;

-- crm_links_of for one record, for statements that keep a generic plan (PL/pgSQL's in
-- crm_relation_apply). A generic plan estimates "the links of a record" from the number of
-- distinct records alone, and an analyze that saw few of them (a fresh database where one
-- record holds 100,000 links) makes every index that starts with the organization look as
-- good as the right one: the plan then read all of the organization's links through the
-- other side's index, checking the record as a non-leading column (62 req/s instead of 1,000
-- for the full response). Each branch is therefore ordered by the rest of its own index's
-- key, which that index returns for free and any other index would have to sort: with
-- bitmap scans off (a bitmap scan is unordered, so the sort no longer tells the indexes
-- apart) the right index wins whatever the statistics say, at no cost at run time.
create or replace function crm_links_of_record(p_org uuid, p_record uuid)
returns table (side crm_link_side, owner_id uuid, other_id uuid, link_seq bigint)
language sql stable as $$
    (select 'source'::crm_link_side, l.relation_id, l.target_id, l.link_seq
     from crm_record_links l where l.organization_id = p_org and l.source_id = p_record
     order by l.relation_id, l.target_id)
    union all
    (select 'target'::crm_link_side, l.relation_id, l.source_id, l.link_seq
     from crm_record_links l where l.organization_id = p_org and l.target_id = p_record
     order by l.relation_id, l.source_id)
    union all
    (select 'user'::crm_link_side, m.attribute_id, m.member_id, m.link_seq
     from crm_record_members m where m.organization_id = p_org and m.record_id = p_record
     order by m.attribute_id, m.member_id)
$$;
