"""Scenario 7 of bench/run: batch relation edits (PATCH /v2/crm/orders/relations).

7a. wrk, 8 connections: batches of 100 operations, each adding 1 random product to a random
    order, counted in link operations per second (target >= 25,000/s).
7b. pgbench, 8 clients: the ceiling, the same 100 changes as one minimal SQL transaction (lock
    and bump the versions of the orders in record-id order, insert the 100 links skipping
    conflicts, their products locked as the server's validation locks them); 7a is compared
    with it (target >= 0.8). 7b' (no target): the same transaction with the event every change
    must record (the change feed), one crm_events row per change with its payload completed by
    crm_event_payload, to show how much of the gap is the event.
7c. wrk, 1 connection: batches of 1,000 such operations, p50 latency (target <= 150 ms).

The orders and products are their own (BATCH_ORDERS and BATCH_PRODUCTS of each, bulk-created
in SQL): with scenario 1's 200 orders every batch of 100 random orders would overlap every
other, and the batches would queue behind each other's record locks instead of measuring the
endpoint. Run alone with ONLY=batch bench/run.
"""
import os
import re
import subprocess

BATCH_CONNECTIONS = int(os.environ.get("BATCH_CONNECTIONS", "8"))
BATCH_ORDERS = int(os.environ.get("BATCH_ORDERS", "100000"))
BATCH_PRODUCTS = int(os.environ.get("BATCH_PRODUCTS", "100000"))

LUA = """
local orders, products = {}, {}
for id in io.lines("%(work)s/batch_orders.txt") do orders[#orders + 1] = id end
for id in io.lines("%(work)s/batch_products.txt") do products[#products + 1] = id end
local headers = { ["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json" }
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1000000)) end
request = function()
  local ops = {}
  for i = 1, %(ops)d do
    ops[i] = string.format('{"recordId":"%%s","attributeSlug":"products","add":["%%s"]}',
      orders[math.random(#orders)], products[math.random(#products)])
  end
  return wrk.format("PATCH", "/v2/crm/orders/relations", headers, '{"operations":[' .. table.concat(ops, ",") .. ']}')
end
"""

def ceiling_sql(ops, pieces=None):
    """The minimal transaction of a batch of `ops` "add 1 product to an order": the orders locked
    and bumped in record-id order (so concurrent clients queue instead of deadlocking, as the
    server's batches do), then the links inserted in key order, skipping existing ones, their
    products locked FOR KEY SHARE (links keep no foreign keys, and that lock is what keeps a
    linked record from being deleted, migration 0018). With `pieces` (a relation event's
    payload pieces), also one event per change."""
    sets = "".join(f"\\set o{i} random(1, {BATCH_ORDERS})\n\\set p{i} random(1, {BATCH_PRODUCTS})\n" for i in range(ops))
    orders = ", ".join(f":o{i}" for i in range(ops))
    pairs = ", ".join(f"(:o{i}::int, :p{i}::int)" for i in range(ops))
    return sets + f"""BEGIN;
UPDATE crm_records r SET version = r.version + 1, updated_at = now()
  FROM (SELECT c.record_id FROM crm_records c
        WHERE c.organization_id = :org AND c.record_id IN (SELECT id FROM bench_batch_orders WHERE n IN ({orders}))
        ORDER BY c.record_id FOR NO KEY UPDATE) l
  WHERE r.organization_id = :org AND r.record_id = l.record_id;
INSERT INTO crm_record_links (organization_id, source_id, relation_id, target_id, source_single, target_single)
  SELECT :org, o.id, :rel, t.record_id, false, false
  FROM (VALUES {pairs}) v (o, p)
  JOIN bench_batch_orders o ON o.n = v.o JOIN bench_batch_products p ON p.n = v.p
  JOIN crm_records t ON t.organization_id = :org AND t.record_id = p.id
  ORDER BY o.id, t.record_id
  FOR KEY SHARE OF t
  ON CONFLICT (organization_id, source_id, relation_id, target_id) DO NOTHING;
""" + ("" if pieces is None else f"""INSERT INTO crm_events (organization_id, event_id, type, aggregate_type, aggregate_id, object_slug,
                        related_object_slug, record_id, record_version, payload)
  SELECT :org, gen_random_uuid(), 'crm.relation.updated', 'record', o.id, 'orders', 'products', o.id, 1,
         crm_event_payload(ARRAY[{", ".join("'" + p.replace("'", "''") + "'" for p in pieces)}], (SELECT crm_event_time()), 1,
                           ARRAY[p.id], '{{}}')
  FROM (VALUES {pairs}) v (o, p)
  JOIN bench_batch_orders o ON o.n = v.o JOIN bench_batch_products p ON p.n = v.p
  ORDER BY o.id;
""") + """END;
"""


def seed(bench, psql, db, org_id, work):
    """BATCH_ORDERS orders and BATCH_PRODUCTS products of the bench organization, created in SQL,
    numbered in bench_batch_{orders,products} (for pgbench) and listed in files (for wrk)."""
    for slug, count in (("orders", BATCH_ORDERS), ("products", BATCH_PRODUCTS)):
        bench.sql(psql, db, f"""create table bench_batch_{slug} (n int primary key, id uuid);
            with r as (insert into crm_records (organization_id, object_id)
                       select '{org_id}', (select object_id from crm_objects where organization_id = '{org_id}' and slug = '{slug}')
                       from generate_series(1, {count}) returning record_id)
            insert into bench_batch_{slug} select row_number() over (), record_id from r""")
        ids = bench.sql(psql, db, f"select id from bench_batch_{slug} order by n")
        open(os.path.join(work, f"batch_{slug}.txt"), "w").write(ids + "\n")
    # What autovacuum does within a minute of such a load (set hint bits, the visibility map,
    # statistics), done now for the whole database (the scenarios before leave their own
    # backlog: scenario 1's links and events, scenario 3's bulk load), and a checkpoint to write
    # it all out: otherwise 7a, which runs first, pays for all of it while 7b and 7b' do not.
    bench.sql(psql, db, "vacuum (analyze)")
    bench.sql(psql, db, "checkpoint")


def run_wrk(bench, wrk, work, port, server_pid, token, ops, connections, duration):
    script = os.path.join(work, f"batch_{ops}.lua")
    open(script, "w").write(LUA % {"work": work, "token": token, "ops": ops})
    meter = bench.CpuMeter(server_pid)
    out = subprocess.run([wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True).stdout
    stats = bench.wrk_stats(out)
    stats["ops_per_s"] = stats["rps"] * ops
    stats["cpu"] = meter.per_request_us(stats["requests"])
    return stats


def run_pgbench(bench, pgbench, psql, work, db, server_pid, org_id, ops, events=False):
    rel = bench.sql(psql, db, f"select relation_id from crm_attributes where organization_id = '{org_id}' and key = 'products' and relation_side = 'source'")
    script = os.path.join(work, "batch_ceiling_events.sql" if events else "batch_ceiling.sql")
    open(script, "w").write(ceiling_sql(ops, bench.BENCH_EVENT_PIECES if events else None))
    meter = bench.CpuMeter(server_pid)
    out = subprocess.run([pgbench, "-n", "-M", "prepared", f"-c{BATCH_CONNECTIONS}", "-j2", f"-T{bench.DURATION}",
                          "-D", f"org={org_id}", "-D", f"rel={rel}", "-f", script],
                         env=dict(os.environ, **db), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"pgbench failed: {out.stderr[-2000:]}")
    out = out.stdout
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    return {"tps": tps, "ops_per_s": tps * ops, "latency_ms": float(re.search(r"latency average = ([\d.]+) ms", out).group(1)),
            "cpu": meter.per_request_us(transactions)}


def scenario(bench, wrk, pgbench, psql, work, port, server_pid, db, token, org_id):
    bench.log(f"scenario 7: batch relation edits; bulk-creating {BATCH_ORDERS} orders and {BATCH_PRODUCTS} products in SQL...")
    seed(bench, psql, db, org_id, work)
    bench.log(f"  7a: wrk, batches of 100 operations, {BATCH_CONNECTIONS} connections, {bench.DURATION} s...")
    hundred = run_wrk(bench, wrk, work, port, server_pid, token, 100, BATCH_CONNECTIONS, bench.DURATION)
    bench.log(f"  7b: pgbench, the same 100 changes as one minimal transaction, {BATCH_CONNECTIONS} clients...")
    ceiling = run_pgbench(bench, pgbench, psql, work, db, server_pid, org_id, 100)
    bench.log(f"  7b': pgbench, the same transaction with an event per change, {BATCH_CONNECTIONS} clients...")
    with_events = run_pgbench(bench, pgbench, psql, work, db, server_pid, org_id, 100, events=True)
    bench.log("  7c: wrk, batches of 1,000 operations, 1 connection...")
    thousand = run_wrk(bench, wrk, work, port, server_pid, token, 1000, 1, max(5, bench.DURATION // 2))
    bench.sql(psql, db, "drop table bench_batch_orders, bench_batch_products")
    return {"hundred": hundred, "ceiling": ceiling, "ceiling_events": with_events, "thousand": thousand}


def rows(bench, b):
    if not b:
        return []
    h, c, t = b["hundred"], b["ceiling"], b["thousand"]
    ratio = h["ops_per_s"] / c["ops_per_s"]
    out = [
        (f"7a. batches of 100 x 1 ID, {BATCH_CONNECTIONS} connections",
         f"{h['ops_per_s']:.0f} link changes/s ({h['rps']:.0f} req/s), p50 {h['p50_ms']:.1f} ms, p99 {h['p99_ms']:.1f} ms, non-2xx {h['non_2xx']}",
         ">= 25,000/s", h["ops_per_s"] >= 25_000 and h["non_2xx"] == 0),
        ("7b. ceiling (pgbench, the 100 changes as minimal SQL)", f"{c['ops_per_s']:.0f} link changes/s ({c['tps']:.0f} tps, mean {c['latency_ms']:.1f} ms)", "", None),
        ("   scenario 7a / scenario 7b", f"{ratio:.2f}", ">= 0.8", ratio >= 0.8),
    ]
    e = b.get("ceiling_events")
    if e:
        out.extend([
            ("7b'. the same with an event per change", f"{e['ops_per_s']:.0f} link changes/s ({e['tps']:.0f} tps, mean {e['latency_ms']:.1f} ms)", "", None),
            ("   scenario 7a / scenario 7b'", f"{h['ops_per_s'] / e['ops_per_s']:.2f}", "", None),
        ])
    out += [
        ("   CPU/batch of 100: 7a, 7b" + (", 7b'" if e else ""),
         ", ".join(bench.cpu(x["cpu"]) for x in [h, c] + ([e] if e else [])), "", None),
        ("7c. batch of 1,000 x 1 ID, 1 connection",
         f"p50 {t['p50_ms']:.1f} ms, p99 {t['p99_ms']:.1f} ms ({t['ops_per_s']:.0f} link changes/s), non-2xx {t['non_2xx']}",
         "p50 <= 150 ms", t["p50_ms"] <= 150 and t["non_2xx"] == 0),
    ]
    return out
