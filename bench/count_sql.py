"""The SQL bench/count runs in a single-user backend: WORK/{relation,batch}{,-once}.sql and the
number of calls the full loop makes beyond the one-iteration loop (WORK/{loop}.calls). With
NOEVENT=1 each file first replaces crm_link_change by this tree's without its event insert; with
PREFIX=FILE each file then starts with FILE's SQL (a variant to count)."""
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
work, noevent = sys.argv[1], sys.argv[2] == "1"

# The relation event's pieces as db::events::NewEvent::render_link_change renders them.
PIECES = """array['{"id":"dd7dd7ba-c17d-40e0-b56b-d0c145fe6998","type":"crm.relation.updated","occurredAt":"',
    '","objectSlug":"orders","recordId":"08bb91b5-dcbb-4b4e-ade7-08c424717d04","recordVersion":',
    ',"actor":{"type":"token","id":"8a0407bb-0ffa-4eda-b607-1a1c13227ba1","name":"bench"},"requestId":"280298aa-86de-441f-b660-d158052eb70b","idempotencyKey":null,"data":{"added":',
    ',"removed":', ',"attributeSlug":"products","relatedObjectSlug":"products","inverseAttributeSlug":"orders"}}']"""

SETUP = """declare
  org uuid; obj uuid; rel uuid; relobj uuid; orders uuid[]; products uuid[];
  o uuid; p1 uuid; p2 uuid; ev crm_event_row; ps uuid[]; os uuid[]; evs crm_event_row[]; n int := 100;
begin
  perform setseed(0.42);
  select a.organization_id, a.object_id, a.relation_id, a.related_object_id into org, obj, rel, relobj
  from crm_attributes a join crm_objects ob using (organization_id, object_id) where ob.slug = 'orders' and a.key = 'products';
  select array_agg(record_id order by record_id) into orders from crm_records where organization_id = org and object_id = obj;
  select array_agg(record_id order by record_id) into products from crm_records where organization_id = org and object_id = relobj;
"""

RELATION = """  for i in 1..{n} loop
    o := orders[1 + (i % cardinality(orders))];
    p1 := products[1 + floor(random() * cardinality(products))::int];
    p2 := products[1 + floor(random() * cardinality(products))::int];
    ev := row(gen_random_uuid(), 'crm.relation.updated', 'record', o, 'orders', 'products', o, null, {pieces})::crm_event_row;
    perform crm_relation_apply(org, obj, o, 'source', rel, relobj, false, false, array[p1, p2], '{{}}'::uuid[], null, false, ev);
    commit;
    perform crm_relation_apply(org, obj, o, 'source', rel, relobj, false, false, '{{}}'::uuid[], array[p1, p2], null, false, ev);
    commit;
  end loop;
end $$;
"""

BATCH = """  for i in 1..{n} loop
    select array_agg(orders[g]) into os from generate_series(1, n) g;
    select array_agg(products[1 + floor(random() * cardinality(products))::int]) into ps from generate_series(1, n);
    select array_agg(row(gen_random_uuid(), 'crm.relation.updated', 'record', x, 'orders', 'products', x, null, {pieces})::crm_event_row)
      into evs from unnest(os) x;
    perform * from crm_relation_apply_batch(org, obj, os, array_fill('source'::crm_link_side, array[n]), array_fill(rel, array[n]),
      array_fill(relobj, array[n]), array_fill(false, array[n]), array_fill(false, array[n]), array_fill(1, array[n]), ps,
      array_fill(0, array[n]), '{{}}'::uuid[], array_fill(-1, array[n]), '{{}}'::bigint[], evs);
    commit;
    perform * from crm_relation_apply_batch(org, obj, os, array_fill('source'::crm_link_side, array[n]), array_fill(rel, array[n]),
      array_fill(relobj, array[n]), array_fill(false, array[n]), array_fill(false, array[n]), array_fill(0, array[n]), '{{}}'::uuid[],
      array_fill(1, array[n]), ps, array_fill(-1, array[n]), '{{}}'::bigint[], evs);
    commit;
  end loop;
end $$;
"""


def statements(sql):
    """SQL for `postgres --single -j`, which ends a statement at a semicolon followed by an empty
    line, even inside a function's body: no comment or empty lines, and an empty line after each
    line that ends a statement (ends with `;` outside a dollar-quoted body)."""
    out, quoted = [], False
    for line in sql.splitlines():
        if not line.strip() or line.lstrip().startswith("--"):
            continue
        quoted ^= line.count("$$") % 2 == 1
        out.append(line + ("\n\n" if not quoted and line.rstrip().endswith(";") else "\n"))
    return "".join(out)


def without_event():
    """crm_link_change (the first function of its file) without its event insert."""
    text = open(os.path.join(ROOT, "sql", "functions", "crm_link_change.sql")).read()
    function = text[:text.index("-- crm_link_change for a set of operations")]
    start = function.index("    if cardinality(r_added) > 0 or cardinality(r_removed) > 0 then")
    end = function.index("    end if;\nend;\n$$;")
    return function[:start] + function[end + len("    end if;\n"):]


prefix = statements(without_event()) if noevent else ""
if os.environ.get("PREFIX"):
    prefix += statements(open(os.environ["PREFIX"]).read())
for name, body, n, calls in (("relation", RELATION, 300, 2), ("batch", BATCH, 10, 2)):
    for suffix, iterations in (("", n), ("-once", 1)):
        loop = "do $$\n" + SETUP + body.format(n=iterations, pieces=PIECES)
        open(os.path.join(work, f"{name}{suffix}.sql"), "w").write(prefix + statements(loop))
    open(os.path.join(work, f"{name}.calls"), "w").write(str((n - 1) * calls))
