// The seed's examples with openapi-fetch over the types openapi-typescript generates from the
// static /openapi.json: one set of paths for every object, attribute values as `unknown`.
// Every `@ts-expect-error` line in `refused` must be a type error (tsc fails if not).
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/static.js";
import { BASE, TOKEN, check, etag, same } from "./walk_common.js";

type Schemas = components["schemas"];
type Change = Schemas["RelationRequestBody"];
const client = createClient<paths>({ baseUrl: BASE, headers: { Authorization: `Bearer ${TOKEN}` } });
const RECORDS = "/v2/crm/{objectSlug}";
const RELATION = "/v2/crm/{objectSlug}/{recordId}/relation";
const list = async (objectSlug: string) =>
  (await client.GET(RECORDS, { params: { path: { objectSlug }, query: { count: 100 } } })).data?.collection ?? [];

const order = (await list("orders")).find((o) => o.attributes.number === "1001");
check(order, "order 1001");
const sku = new Map((await list("products")).map((p) => [p.attributes.sku, p.id]));
const product = (s: string): string => {
  const id = sku.get(s);
  check(id, `product ${s}`);
  return id;
};
const p1 = product("DEMO-001"), p2 = product("DEMO-002"), p3 = product("DEMO-003");
const path = { objectSlug: "orders", recordId: order.id };
const reset = await client.PATCH("/v2/crm/{objectSlug}/{recordId}", { params: { path }, body: { products: [] } });
same(reset.data?.record.attributes.products, [], "reset");

async function change(body: Change, expected: string[]): Promise<Schemas["RelationChanges"]> {
  const { data, error, response } = await client.PATCH(RELATION, { params: { path }, body });
  check(data?.record, `${response.status} ${JSON.stringify(error)}`);
  const linked = data.record.attributes.products;
  check(Array.isArray(linked), "products is a list");
  same([...linked].sort(), [...expected].sort(), "products");
  etag(response);
  return data.changes;
}

const linked = await change({ attributeSlug: "products", add: [p1, p2] }, [p1, p2]);
same([[...linked.added].sort(), linked.removed], [[p1, p2].sort(), []], "link two");
const swapped = await change({ attributeSlug: "products", remove: [p2], add: [p3] }, [p1, p3]);
same([swapped.added, swapped.removed], [[p3], [p2]], "swap");
const unlink: Change = { attributeSlug: "products", remove: [p1] };
const minimal = await client.PATCH(RELATION, { params: { path, header: { Prefer: "return=minimal" } }, body: unlink });
check(minimal.data && minimal.data.record === undefined, `minimal: ${JSON.stringify(minimal.data)}`);
same(minimal.data.changes.removed, [p1], "unlink");
same(minimal.response.headers.get("preference-applied"), "return=minimal", "Preference-Applied");
const current = etag(minimal.response);

for (const [id, linkedThere] of [[p3, true], [p1, false]] as const) {
  const read = await client.GET("/v2/crm/{objectSlug}/{recordId}", { params: { path: { objectSlug: "products", recordId: id } } });
  const inverse = read.data?.record.attributes.orders;
  check(Array.isArray(inverse), "products carry their orders");
  same(inverse.includes(order.id), linkedThere, `order on the inverse side of ${id}`);
}

const deal = (await list("deals")).find((d) => d.attributes.title === "Acme spring collection");
const members = await client.GET("/v2/organizations/users", { params: { query: { per_page: 100 } } });
const max = members.data?.collection.find((m) => m.email === "max.schulz@demo.example")?.uuid;
check(deal && max, "the demo deal and member");
const deal_path = { path: { objectSlug: "deals", recordId: deal.id } };
const released = await client.PATCH(RELATION, { params: deal_path, body: { attributeSlug: "owners", remove: [max] } });
check(released.data, `release: ${JSON.stringify(released.error)}`);
const owned = await client.PATCH(RELATION, { params: deal_path, body: { attributeSlug: "owners", add: [max] } });
same(owned.data?.changes.added, [max], "owner assigned");
const owners = owned.data?.record?.attributes.owners;
check(Array.isArray(owners) && owners.includes(max), "owners lists the member");

const stale = await client.PATCH(RELATION, { params: { path, header: { "If-Match": '"0"' } }, body: unlink });
same([stale.response.status, stale.error?.code, stale.response.headers.get("etag")], [412, "precondition_failed", current], "stale If-Match");
const stranger = crypto.randomUUID();
const wrong = await client.PATCH(RELATION, { params: { path }, body: { attributeSlug: "products", add: [stranger] } });
same([wrong.response.status, wrong.error?.errors.map((e) => e.pointer)], [400, ["/add/0"]], "unknown product");
check(wrong.error?.errors[0]?.message.includes(stranger), "the error names the ID");
console.log("typescript, static document: linked, swapped, unlinked, read the inverse, assigned an owner, typed errors");

export function refused(record: Schemas["RecordDto"]): unknown[] {
  return [
    // @ts-expect-error: values are unknown until checked
    record.attributes.products.length,
    // @ts-expect-error: IDs are UUID strings
    ((body: Change) => body)({ attributeSlug: "products", add: [1, 2] }),
    // @ts-expect-error: attributeSlug is required
    ((body: Change) => body)({ add: [p1] }),
    // @ts-expect-error: add or remove is required
    ((body: Change) => body)({ attributeSlug: "products" }),
    // @ts-expect-error: Prefer takes its documented values
    client.PATCH(RELATION, { params: { path, header: { Prefer: "return=everything" } }, body: unlink }),
  ];
}
