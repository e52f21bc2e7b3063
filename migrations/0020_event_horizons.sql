-- Pruning by transaction horizon, not by time. The pruner (db::events::prune) records, once a
-- run, the oldest transaction still running (`oldest_xid`: the `xmin` of a snapshot taken
-- then); once such a horizon is older than retention, every event of a transaction before it is
-- deleted.
-- Those transactions had all finished when the horizon was taken, so every cursor taken since
-- (any cursor not yet expired, domain::cursor's `issued_at`) already has them behind it:
-- pruning never takes an event a live cursor still has to read. By time (`occurred_at`, the
-- writing transaction's start) an event of a transaction that ran long could be pruned before
-- a cursor taken during it read it.
--
-- The rest is what the change saves every writer: `occurred_at` and its BRIN index existed only
-- for the pruner (the payload carries `occurredAt`), and the index was 6,000 instructions of each
-- relation call's event (bench/count). The pruner finds old events through crm_events_xid_idx,
-- one range per organization. A database upgraded from before keeps its older events until
-- the first horizon it records here is older than retention.
-- The one table without organization_id: a horizon is the cluster's transactions, no tenant's.
create table crm_event_horizons (
    taken_at timestamptz primary key,
    oldest_xid xid8 not null
);
drop index crm_events_occurred_at_idx;
alter table crm_events drop column occurred_at;
