-- One page of an organization's feed (db::events::read, which documents the cursor): up to
-- p_count events after the cursor, in commit order, stopping before the event that would take
-- the page past p_bytes (a page holds at least one).
--
-- p_cur: the snapshot of the batch being read (null: take the current one); p_prev: the
-- snapshot every event already delivered was visible in; p_last_seq: the last event delivered
-- of the batch (0 at its start). p_xid_from: where to start looking, when following the head
-- (a first page after a delivered snapshot): the oldest transaction p_prev did not see. Null
-- deep in a batch or from the oldest event, which start after p_last_seq.
--
-- A function for its settings, which no single statement can carry. Planned with the call's
-- values (force_custom_plan), so a null filter drops out of the plan. No bitmap or sequential
-- scans: without statistics (a fresh or growing table autovacuum has not analyzed yet) the
-- planner took "this organization, after p_last_seq" for a few rows, and each page of a
-- backlog fetched and sorted every event after it (the README has the figures). Every page is
-- now the primary key in order from a seq, which needs no statistics to be right.
--
-- `stable`, and it must stay so: both statements then read in the caller's one snapshot. With
-- a snapshot per statement, a transaction committing between the two, with events below the
-- seq bound the first one found, would be skipped and end up behind the cursor for good.
create or replace function crm_events_page(
    p_org uuid,
    p_cur text,
    p_xid_from text,
    p_prev text,
    p_last_seq bigint,
    p_types text[],
    p_object text,
    p_count bigint,
    p_bytes bigint
) returns table (r_cur text, r_head_xmax text, r_found bigint, r_kept bigint, r_last_seq bigint, r_events text)
language plpgsql stable
set plan_cache_mode = force_custom_plan
set enable_bitmapscan = off
set enable_seqscan = off as $$
declare
    v_after bigint := p_last_seq;
begin
    if p_xid_from is not null then
        -- Following the head (p_last_seq is 0): start just before the oldest event of a
        -- transaction p_prev did not see (the xid index finds the candidates), then read in
        -- seq order like any other page. No bound on seq here and `+ 0`: either would let the
        -- planner walk the primary key from this organization's oldest event instead.
        select coalesce(min(x.seq + 0) - 1, 9223372036854775807) into v_after from crm_events x
        where x.organization_id = p_org and x.xid >= p_xid_from::xid8
          and not pg_visible_in_snapshot(x.xid, p_prev::pg_snapshot);
    end if;
    return query
    with page as materialized (
        select e.seq, e.payload from crm_events e
        where e.organization_id = p_org
          and e.seq > v_after
          and pg_visible_in_snapshot(e.xid, (select coalesce(p_cur::pg_snapshot, pg_current_snapshot())))
          and not pg_visible_in_snapshot(e.xid, p_prev::pg_snapshot)
          and (p_types is null or e.type = any(p_types))
          and (p_object is null or e.object_slug = p_object or e.related_object_slug = p_object)
        order by e.seq
        limit p_count + 1),
    kept as (
        select p.seq, p.payload from (
            select g.seq, g.payload, row_number() over w as n,
                   coalesce(sum(octet_length(g.payload)) over (w rows between unbounded preceding and 1 preceding), 0)
                       as before
            from page g window w as (order by g.seq)) p
        where p.n <= p_count and p.before < p_bytes)
    select coalesce(p_cur::pg_snapshot, pg_current_snapshot())::text,
           pg_snapshot_xmax(pg_current_snapshot())::text,
           (select count(*) from page),
           (select count(*) from kept),
           (select max(k.seq) from kept k),
           (select string_agg(k.payload, ',' order by k.seq) from kept k);
end;
$$;
