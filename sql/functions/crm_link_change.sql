-- The one place links are written: removes p_remove and adds p_add on one attribute of one
-- record, and returns what really changed (r_added and r_removed in ID order; both empty
-- arrays when nothing did). A change that changed something appends its crm.relation.updated
-- event: p_event is the event as db::events::Rendered renders it (a crm_event_row, whose
-- aggregate_id, record_id and record_version are not read: p_record and p_version fill those
-- columns), its payload completed here (crm_event_payload) with p_version, the record's version
-- after the write, and what changed. Every writer calls it: the relation endpoint (through
-- crm_relation_apply) and record
-- create/PATCH/assert (through db::links::change), inside the caller's transaction, any number
-- of times per transaction.
--
-- p_side 'source'/'target': a relation attribute and which end of its links the record is;
-- p_owner is the relation id, p_source_single/p_target_single the link's cardinality flags.
-- p_side 'user': a user attribute; p_owner is its attribute id, the flags are ignored.
--
-- Removals run first, so a swap works where the relation allows one link. Inserts are in ID
-- order and skip existing links, so an existing link is never rewritten and concurrent
-- writers cannot deadlock on each other's rows. Cardinality surfaces as the violations of
-- crm_record_links_{source,target}_single_idx, a vanished member as its foreign key's. The
-- records linked to must have been validated, and so locked, by crm_link_unlinkable (or
-- crm_link_unlinkable_set) in the caller's transaction: links keep no foreign keys to their
-- records (migration 0018).
--
-- Deletes look each link up by its whole key: `delete … where target_id = any(p_remove)` (and
-- its join form with unnest) leave the plan to the row estimate for "links of this record";
-- without statistics, or for a record that is not among the most common values, the planner
-- expects a handful and scans every link of the record, filtering by the IDs (1.9 ms and 629
-- buffers per request on a record with 600 links). A scalar subquery on one table turns every
-- key column into an index condition whatever the estimates, so each ID is found by one index
-- lookup and deleted by its tuple id (a TID scan: any other condition on the delete would
-- invite the prefix scan back). The tuple ids are read in the statement's own snapshot, so they
-- name exactly the links found; links are never updated in place.
create or replace function crm_link_change(
    p_org uuid,
    p_record uuid,
    p_side crm_link_side,
    p_owner uuid,
    p_source_single boolean,
    p_target_single boolean,
    p_add uuid[],
    p_remove uuid[],
    p_event crm_event_row,
    p_version bigint,
    out r_added uuid[],
    out r_removed uuid[]
) language plpgsql
-- generic plans, no sequential scans: see crm_relation_apply
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
begin
    if p_side = 'source' then
        with d as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.source_id = p_record
                                     and x.relation_id = p_owner and x.target_id = r)
                           from unnest(p_remove) as r))
                   returning l.target_id)
        select array_agg(d.target_id order by d.target_id) into r_removed from d;
        with i as (insert into crm_record_links as l
                       (organization_id, source_id, relation_id, target_id, source_single, target_single)
                   select p_org, p_record, p_owner, t, p_source_single, p_target_single
                   from unnest(p_add) as t order by t
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.target_id)
        select array_agg(i.target_id order by i.target_id) into r_added from i;
    elsif p_side = 'target' then
        with d as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.target_id = p_record
                                     and x.relation_id = p_owner and x.source_id = r)
                           from unnest(p_remove) as r))
                   returning l.source_id)
        select array_agg(d.source_id order by d.source_id) into r_removed from d;
        with i as (insert into crm_record_links as l
                       (organization_id, target_id, relation_id, source_id, source_single, target_single)
                   select p_org, p_record, p_owner, s, p_source_single, p_target_single
                   from unnest(p_add) as s order by s
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.source_id)
        select array_agg(i.source_id order by i.source_id) into r_added from i;
    else
        with d as (delete from crm_record_members m
                   where m.ctid = any(array(
                           select (select x.ctid from crm_record_members x
                                   where x.organization_id = p_org and x.record_id = p_record
                                     and x.attribute_id = p_owner and x.member_id = r)
                           from unnest(p_remove) as r))
                   returning m.member_id)
        select array_agg(d.member_id order by d.member_id) into r_removed from d;
        with i as (insert into crm_record_members as m (organization_id, record_id, attribute_id, member_id)
                   select p_org, p_record, p_owner, x from unnest(p_add) as x order by x
                   on conflict (organization_id, record_id, attribute_id, member_id) do nothing
                   returning m.member_id)
        select array_agg(i.member_id order by i.member_id) into r_added from i;
    end if;
    r_added := coalesce(r_added, '{}');
    r_removed := coalesce(r_removed, '{}');
    if cardinality(r_added) > 0 or cardinality(r_removed) > 0 then
        -- Inserted here, not through crm_events_append: only here are the version and what
        -- changed known (crm_events_append completes payloads of two pieces only).
        insert into crm_events (organization_id, event_id, type, aggregate_type, aggregate_id, object_slug,
                                related_object_slug, record_id, record_version, payload)
        values (p_org, p_event.id, p_event.type, p_event.aggregate_type, p_record, p_event.object_slug,
                p_event.related_object_slug, p_record, p_version,
                crm_event_payload(p_event.payload, crm_event_time(), p_version, r_added, r_removed));
    end if;
end;
$$;

-- crm_link_change for a set of operations at once, in a few statements whatever their number
-- (the batch endpoint's path, through crm_relation_apply_batch): operation i (1-based) is
-- p_records[i], p_sides[i], p_owners[i], p_source_single[i], p_target_single[i], and it runs
-- when p_apply[i]; p_adds/p_removes are the IDs of every operation, p_add_ops/p_remove_ops the
-- operation each belongs to. Returns every ID that really changed as three arrays of one entry
-- per ID: its operation (r_ops), the ID (r_ids) and whether it was added, else removed
-- (r_added); and r_changed, the operations that changed something, each once. Arrays, not
-- rows: the caller keeps them across rounds. Appends no event: the caller appends one per
-- changed operation (crm_relation_apply_batch, in operation order).
--
-- The caller guarantees that no two operations that run can write the same link: their records
-- are distinct and no relation is written from both its sides. Then running every removal and
-- then every insert is the same as running the operations one after another. As in
-- crm_link_change: removals first (swaps), each link found by its whole key and deleted by tuple
-- id, inserts in key order skipping existing links, violations surface as errors.
create or replace function crm_link_change_set(
    p_org uuid,
    p_apply boolean[],
    p_records uuid[],
    p_sides crm_link_side[],
    p_owners uuid[],
    p_source_single boolean[],
    p_target_single boolean[],
    p_adds uuid[],
    p_add_ops integer[],
    p_removes uuid[],
    p_remove_ops integer[],
    out r_ops integer[],
    out r_ids uuid[],
    out r_added boolean[],
    out r_changed integer[]
) language plpgsql
-- generic plans, no sequential scans: see crm_relation_apply
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
declare
    v_ops integer[];
    v_ids uuid[];
begin
    r_ops := '{}';
    r_ids := '{}';
    r_added := '{}';
    -- Two statements: data-modifying CTEs of one statement run in no defined order, and the
    -- inserts must see the removals. Each runs only when the batch has IDs of its kind (a
    -- batch that only adds has no removals): even with none, a statement pays its executor
    -- start.
    if cardinality(p_removes) > 0 then
        with s as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.source_id = p_records[r.op]
                                     and x.relation_id = p_owners[r.op] and x.target_id = r.id)
                           from unnest(p_removes, p_remove_ops) as r (id, op)
                           where p_apply[r.op] and p_sides[r.op] = 'source'))
                   returning l.source_id as rec, l.relation_id as owner, l.target_id as id),
             t as (delete from crm_record_links l
                   where l.ctid = any(array(
                           select (select x.ctid from crm_record_links x
                                   where x.organization_id = p_org and x.target_id = p_records[r.op]
                                     and x.relation_id = p_owners[r.op] and x.source_id = r.id)
                           from unnest(p_removes, p_remove_ops) as r (id, op)
                           where p_apply[r.op] and p_sides[r.op] = 'target'))
                   returning l.target_id as rec, l.relation_id as owner, l.source_id as id),
             u as (delete from crm_record_members m
                   where m.ctid = any(array(
                           select (select x.ctid from crm_record_members x
                                   where x.organization_id = p_org and x.record_id = p_records[r.op]
                                     and x.attribute_id = p_owners[r.op] and x.member_id = r.id)
                           from unnest(p_removes, p_remove_ops) as r (id, op)
                           where p_apply[r.op] and p_sides[r.op] = 'user'))
                   returning m.record_id as rec, m.attribute_id as owner, m.member_id as id),
             d as (select * from s union all select * from t union all select * from u)
        select coalesce(array_agg(o.op::integer), '{}'), coalesce(array_agg(d.id), '{}') into r_ops, r_ids
        from d join unnest(p_records, p_owners, p_apply) with ordinality as o (rec, owner, apply, op)
          on o.apply and o.rec = d.rec and o.owner = d.owner;
        r_added := array_fill(false, array[cardinality(r_ops)]);
    end if;

    if cardinality(p_adds) > 0 then
        with s as (insert into crm_record_links as l
                       (organization_id, source_id, relation_id, target_id, source_single, target_single)
                   select p_org, p_records[a.op], p_owners[a.op], a.id, p_source_single[a.op], p_target_single[a.op]
                   from unnest(p_adds, p_add_ops) as a (id, op)
                   where p_apply[a.op] and p_sides[a.op] = 'source'
                   order by 2, 3, 4
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.source_id as rec, l.relation_id as owner, l.target_id as id),
             t as (insert into crm_record_links as l
                       (organization_id, target_id, relation_id, source_id, source_single, target_single)
                   select p_org, p_records[a.op], p_owners[a.op], a.id, p_source_single[a.op], p_target_single[a.op]
                   from unnest(p_adds, p_add_ops) as a (id, op)
                   where p_apply[a.op] and p_sides[a.op] = 'target'
                   order by 4, 3, 2
                   on conflict (organization_id, source_id, relation_id, target_id) do nothing
                   returning l.target_id as rec, l.relation_id as owner, l.source_id as id),
             u as (insert into crm_record_members as m (organization_id, record_id, attribute_id, member_id)
                   select p_org, p_records[a.op], p_owners[a.op], a.id
                   from unnest(p_adds, p_add_ops) as a (id, op)
                   where p_apply[a.op] and p_sides[a.op] = 'user'
                   order by 2, 3, 4
                   on conflict (organization_id, record_id, attribute_id, member_id) do nothing
                   returning m.record_id as rec, m.attribute_id as owner, m.member_id as id),
             i as (select * from s union all select * from t union all select * from u)
        select coalesce(array_agg(o.op::integer), '{}'), coalesce(array_agg(i.id), '{}') into v_ops, v_ids
        from i join unnest(p_records, p_owners, p_apply) with ordinality as o (rec, owner, apply, op)
          on o.apply and o.rec = i.rec and o.owner = i.owner;
        r_ops := r_ops || v_ops;
        r_ids := r_ids || v_ids;
        r_added := r_added || array_fill(true, array[cardinality(v_ops)]);
    end if;
    r_changed := array(select distinct x from unnest(r_ops) as x);
end;
$$;
