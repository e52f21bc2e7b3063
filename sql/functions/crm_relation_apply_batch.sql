-- The batch endpoint's operations as one server-side call: the records of every operation are
-- locked up front in record-id order (so overlapping batches, whatever their order, queue
-- instead of deadlocking), then the operations apply in request order with every rule of the
-- single endpoint: each sees the effects of the operations before it (cardinality across a
-- batch is enforced as if the operations ran one after another, and If-Match sees the version
-- the earlier operations left).
--
-- Operation i (1-based) is p_records[i], p_sides[i], p_owners[i], p_related[i],
-- p_source_single[i], p_target_single[i]; its `add` IDs are the next p_add_counts[i] entries of
-- p_adds (and likewise for remove); its If-Match versions are the next p_expected_counts[i]
-- entries of p_expected, or no condition when the count is -1. p_events[i] is operation i's
-- crm.relation.updated event, as crm_relation_apply takes it: each operation that changes
-- something appends its one event.
--
-- One row per operation, r_op 0-based, with crm_relation_apply's outcome and its columns. An
-- operation that is not applied wrote nothing, so the caller decides whether to commit (per
-- operation) or roll back (atomic). A cardinality violation (or a member's foreign key) aborts
-- the call;
-- the caller then runs the operations one by one to find out which.
--
-- Two ways, the same answers. Set-based (crm_relation_apply_set) when operations on different
-- records cannot meet on a link: no relation is written from both its sides, and no relation
-- whose other end is single is written for more than one record. The operations then run in
-- rounds, round k holding the k-th operation of each record, each round a few statements for
-- all its operations; the rounds keep each record's operations in order, and operations of
-- different records do not see each other. Otherwise, or with more than four operations on one
-- record, one crm_relation_apply per operation.
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
    p_events crm_event_row[]
) returns table (
    r_op integer,
    r_outcome crm_relation_outcome,
    r_version bigint,
    r_added uuid[],
    r_removed uuid[],
    r_missing uuid[],
    r_inactive uuid[]
) language plpgsql
-- Generic plans and no sequential scans, as crm_relation_apply (see there): with array
-- parameters PostgreSQL plans each statement afresh for every call, and that was a twentieth
-- of what PostgreSQL spent on a batch of 100.
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
declare
    n integer := coalesce(cardinality(p_records), 0);
    a integer := 0;
    r integer := 0;
    e integer := 0;
    v_rounds integer;
    v_expected bigint[];
    v_row record;
begin
    perform crm_records_lock(p_org, p_records);
    if n > 0 then
        v_rounds := crm_relation_batch_rounds(p_records, p_sides, p_owners, p_source_single, p_target_single);
    end if;
    if v_rounds <= 4 then
        return query select * from crm_relation_apply_set(p_org, p_object, p_records, p_sides, p_owners, p_related,
            p_source_single, p_target_single, p_add_counts, p_adds, p_remove_counts, p_removes, p_expected_counts,
            p_expected, p_events, v_rounds);
        return;
    end if;

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
                                v_expected, false, p_events[i]);
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

-- The number of rounds the set-based path needs for these operations (the most operations on
-- one record), or null when operations on different records could meet on a link.
--
-- PL/pgSQL, for its kept plans: a SQL function with subqueries is never inlined, and
-- PostgreSQL (before 18) planned its body again on every call. The usual batch, every
-- operation on one attribute from one side, is told apart by array containment alone: its
-- relation is not written from both sides, and only its other end being single could make
-- two records meet (each query over the arrays cost about as much as a tenth of the batch's
-- link inserts, bench/count).
create or replace function crm_relation_batch_rounds(
    p_records uuid[],
    p_sides crm_link_side[],
    p_owners uuid[],
    p_source_single boolean[],
    p_target_single boolean[]
) returns integer language plpgsql immutable
set plan_cache_mode = force_generic_plan as $$
begin
    if p_owners <@ p_owners[1:1] and p_sides <@ p_sides[1:1] then
        if ((p_sides[1] = 'source' and p_target_single[1]) or (p_sides[1] = 'target' and p_source_single[1]))
           and not p_records <@ p_records[1:1] then
            return null;
        end if;
    elsif exists (select 1 from unnest(p_owners, p_sides) as o (owner, side)
                  where o.side <> 'user' group by o.owner having count(distinct o.side) > 1)
       or exists (select 1 from unnest(p_records, p_sides, p_owners, p_source_single, p_target_single)
                                as o (rec, side, owner, source_single, target_single)
                  where (o.side = 'source' and o.target_single) or (o.side = 'target' and o.source_single)
                  group by o.owner having count(distinct o.rec) > 1) then
        return null;
    end if;
    return (select max(c)::integer from (select count(*) as c from unnest(p_records) as r (rec) group by r.rec) as g);
end;
$$;

-- crm_relation_apply_batch's set-based path (see there; the same arguments and rows, and
-- p_rounds, crm_relation_batch_rounds of the operations): rounds of operations on distinct
-- records, each checked (record, If-Match, the IDs to add, validated for the whole batch at
-- once) and written by crm_link_change_set; versions bumped once per changed operation; then
-- every event, in operation order.
create or replace function crm_relation_apply_set(
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
    p_events crm_event_row[],
    p_rounds integer
) returns table (
    r_op integer,
    r_outcome crm_relation_outcome,
    r_version bigint,
    r_added uuid[],
    r_removed uuid[],
    r_missing uuid[],
    r_inactive uuid[]
) language plpgsql
-- generic plans, no sequential scans: as crm_relation_apply_batch
set plan_cache_mode = force_generic_plan
set enable_seqscan = off as $$
declare
    n integer := cardinality(p_records);
    v_add_ops integer[];
    v_remove_ops integer[];
    v_expected_from integer[];
    v_round integer[];
    v_invalid boolean[] := array_fill(false, array[n]);
    v_bad_ops integer[];
    v_bad_ids uuid[];
    v_bad_inactive boolean[];
    v_outcome crm_relation_outcome[] := array_fill(null::crm_relation_outcome, array[n]);
    v_version bigint[] := array_fill(null::bigint, array[n]);
    v_apply boolean[];
    v_changed integer[];
    v_ops integer[];
    v_ids uuid[];
    v_added boolean[];
    v_done_ops integer[] := '{}';
    v_done_ids uuid[] := '{}';
    v_done_added boolean[] := '{}';
    v_all_changed integer[] := '{}';
    i integer;
begin
    -- The operation of each ID, where each operation's If-Match versions start, its round: one
    -- statement, as every statement pays its own executor start.
    select coalesce((select array_agg(o.i::integer order by o.i, g)
                     from unnest(p_add_counts) with ordinality as o (c, i), generate_series(1, o.c) as g), '{}'),
           coalesce((select array_agg(o.i::integer order by o.i, g)
                     from unnest(p_remove_counts) with ordinality as o (c, i), generate_series(1, o.c) as g), '{}'),
           (select array_agg(s.f::integer order by s.i)
            from (select o.i, coalesce(sum(greatest(o.c, 0)) over (order by o.i rows between unbounded preceding
                                                                                     and 1 preceding), 0) as f
                  from unnest(p_expected_counts) with ordinality as o (c, i)) as s),
           (select array_agg(s.r order by s.i)
            from (select o.i, row_number() over (partition by o.rec order by o.i)::integer as r
                  from unnest(p_records) with ordinality as o (rec, i)) as s)
    into v_add_ops, v_remove_ops, v_expected_from, v_round;
    -- Every ID to add, checked once: a batch creates and deletes no records or members.
    select array_agg(v_add_ops[u.r_index]), array_agg(p_adds[u.r_index]), array_agg(u.r_inactive)
    into v_bad_ops, v_bad_ids, v_bad_inactive
    from crm_link_unlinkable_set(p_org, p_sides, p_related, p_adds, v_add_ops) as u;
    foreach i in array coalesce(v_bad_ops, '{}') loop
        v_invalid[i] := true;
    end loop;

    for k in 1 .. p_rounds loop
        -- The round's operations, checked in crm_relation_apply's order against the record as
        -- the earlier rounds left it (locked by the caller), in one statement for all of them:
        -- every operation's outcome and version, the other rounds' carried over, and which
        -- operations of this round apply. (The lists are aggregated in operation order, from
        -- the sorted subquery.)
        select array_agg(s.outcome),
               array_agg(case when s.rnd <> k then v_version[s.i]
                              when s.outcome in ('precondition_failed', 'applied') then s.version end),
               array_agg(s.rnd = k and s.outcome = 'applied')
        into v_outcome, v_version, v_apply
        from (select o.i, o.rnd, c.version,
                     case when o.rnd <> k then v_outcome[o.i]
                          when c.object_id is distinct from p_object then 'not_found'
                          when p_expected_counts[o.i] >= 0 and not coalesce(c.version = any(
                                   p_expected[v_expected_from[o.i] + 1
                                              : v_expected_from[o.i] + p_expected_counts[o.i]]),
                                   false) then 'precondition_failed'
                          when v_invalid[o.i] then 'invalid'
                          else 'applied' end::crm_relation_outcome as outcome
              from unnest(v_round) with ordinality as o (rnd, i)
              -- A primary-key lookup per operation of the round: `offset 0` keeps the lateral
              -- subquery from being flattened into a join, which a plan could hash, reading
              -- every record of the organization.
              left join lateral (select x.object_id, x.version from crm_records x
                                 where o.rnd = k and x.organization_id = p_org and x.record_id = p_records[o.i]
                                 offset 0) as c on true
              order by o.i) as s;
        continue when true <> all(v_apply);

        select c.r_ops, c.r_ids, c.r_added, c.r_changed into v_ops, v_ids, v_added, v_changed
        from crm_link_change_set(p_org, v_apply, p_records, p_sides, p_owners, p_source_single, p_target_single,
                                 p_adds, v_add_ops, p_removes, v_remove_ops) as c;
        v_done_ops := v_done_ops || v_ops;
        v_done_ids := v_done_ids || v_ids;
        v_done_added := v_done_added || v_added;
        if cardinality(v_changed) > 0 then
            -- One operation per record in a round: one version each.
            -- Each record found by its primary key and updated by tuple id, as crm_link_change
            -- deletes links (`record_id = any(…)` could read every record of the organization:
            -- see crm_records_lock). The records are locked, so the tuple ids cannot go stale.
            update crm_records c set version = c.version + 1, updated_at = now()
            where c.ctid = any(array(
                    select (select x.ctid from crm_records x
                            where x.organization_id = p_org and x.record_id = p_records[o])
                    from unnest(v_changed) as o));
            foreach i in array v_changed loop
                v_version[i] := v_version[i] + 1;
            end loop;
            v_all_changed := v_all_changed || v_changed;
        end if;
    end loop;

    -- The rows, and one event per changed operation, in one statement: each operation's lists
    -- (d) are aggregated once for both. The events are in operation order and in
    -- crm_link_change's shape (the same columns, crm_event_payload), inserted directly as
    -- crm_link_change does: only here are the versions and the lists known. Each operation's
    -- event is joined by its position in p_events (once, where `(p_events[c.op]).field` would
    -- subscript the array for each field); a changed operation without one gets nulls, which
    -- the table refuses. A data-modifying WITH runs to completion whatever the query reads.
    --
    -- Each operation's lists are in ID order because array_agg keeps the order its input comes
    -- in, and the sorted subquery feeds it in (op, id) order whether the grouping sorts or
    -- hashes (PostgreSQL documents this as "usually" working; the batch tests check the order
    -- of every list). An ordered aggregate per list sorted each operation's IDs on their own:
    -- two sorts per operation, 1.2 million instructions per batch of 100 (bench/count).
    return query
    with d as materialized (
             select x.op, array_agg(x.id) filter (where x.added) as added,
                    array_agg(x.id) filter (where not x.added) as removed
             from (select * from unnest(v_done_ops, v_done_ids, v_done_added) as u (op, id, added)
                   order by u.op, u.id) as x
             group by x.op),
         events as (
             insert into crm_events (organization_id, event_id, type, aggregate_type, aggregate_id, object_slug,
                                     related_object_slug, record_id, record_version, payload)
             select p_org, e.id, e.type, e.aggregate_type, e.rec, e.object_slug, e.related_object_slug, e.rec,
                    e.version, crm_event_payload(e.payload, (select crm_event_time()), e.version,
                                                 coalesce(d.added, '{}'), coalesce(d.removed, '{}'))
             from (select c.op, v.id, v.type, v.aggregate_type, v.object_slug, v.related_object_slug, v.payload,
                          p_records[c.op] as rec, v_version[c.op] as version
                   from unnest(v_all_changed) as c (op)
                   left join unnest(p_events) with ordinality as v on v.ordinality = c.op) as e
             left join d on d.op = e.op
             order by e.op)
    select (o.i - 1)::integer, v_outcome[o.i], v_version[o.i],
           case when v_outcome[o.i] = 'applied' then coalesce(d.added, '{}') end,
           case when v_outcome[o.i] = 'applied' then coalesce(d.removed, '{}') end,
           case when v_outcome[o.i] = 'invalid' then b.missing end,
           case when v_outcome[o.i] = 'invalid' then b.inactive end
    from generate_series(1, n) as o (i)
    left join d on d.op = o.i
    left join (select x.op, array_agg(x.id) filter (where not x.inactive) as missing,
                      array_agg(x.id) filter (where x.inactive) as inactive
               from unnest(v_bad_ops, v_bad_ids, v_bad_inactive) as x (op, id, inactive) group by x.op) as b
      on b.op = o.i
    order by o.i;
end;
$$;
