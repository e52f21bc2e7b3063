// The seed's examples with openapi-fetch over the types openapi-typescript generates from the
// demo workspace's /v2/openapi.json: typed per object, so `order.attributes.products` is a
// `string[]`. Every `@ts-expect-error` line in `refused` must be a type error (tsc fails if not).
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/workspace.js";
import { BASE, TOKEN, check, etag, same } from "./walk_common.js";

type Schemas = components["schemas"];
type OrdersChange = Schemas["OrdersRelationChange"];
const client = createClient<paths>({ baseUrl: BASE, headers: { Authorization: `Bearer ${TOKEN}` } });
const RELATION = "/v2/crm/orders/{recordId}/relation";

const orders = await client.GET("/v2/crm/orders", { params: { query: { count: 100 } } });
const order = orders.data?.collection.find((o) => o.attributes.number === "1001");
check(order, `order 1001: ${JSON.stringify(orders.error)}`);
const products = await client.GET("/v2/crm/products", { params: { query: { count: 100 } } });
const sku = new Map(products.data?.collection.map((p) => [p.attributes.sku, p.id]));
const product = (s: string): string => {
  const id = sku.get(s);
  check(id, `product ${s}`);
  return id;
};
const p1 = product("DEMO-001"), p2 = product("DEMO-002"), p3 = product("DEMO-003");
const path = { recordId: order.id };
const reset = await client.PATCH("/v2/crm/orders/{recordId}", { params: { path }, body: { products: [] } });
same(reset.data?.record.attributes.products, [], "reset");

async function change(body: OrdersChange, expected: string[]): Promise<Schemas["RelationChanges"]> {
  const { data, error, response } = await client.PATCH(RELATION, { params: { path }, body });
  check(data?.record, `${response.status} ${JSON.stringify(error)}`);
  const linked: string[] = data.record.attributes.products;
  same([...linked].sort(), [...expected].sort(), "products");
  etag(response);
  return data.changes;
}

const linked = await change({ attributeSlug: "products", add: [p1, p2] }, [p1, p2]);
same([[...linked.added].sort(), linked.removed], [[p1, p2].sort(), []], "link two");
const swapped = await change({ attributeSlug: "products", remove: [p2], add: [p3] }, [p1, p3]);
same([swapped.added, swapped.removed], [[p3], [p2]], "swap");
const unlink: OrdersChange = { attributeSlug: "products", remove: [p1] };
const minimal = await client.PATCH(RELATION, { params: { path, header: { Prefer: "return=minimal" } }, body: unlink });
check(minimal.data && minimal.data.record === undefined, `minimal: ${JSON.stringify(minimal.data)}`);
same(minimal.data.changes.removed, [p1], "unlink");
same(minimal.response.headers.get("preference-applied"), "return=minimal", "Preference-Applied");
const current = etag(minimal.response);

for (const [id, linkedThere] of [[p3, true], [p1, false]] as const) {
  const read = await client.GET("/v2/crm/products/{recordId}", { params: { path: { recordId: id } } });
  const inverse: string[] = read.data?.record.attributes.orders ?? [];
  same(inverse.includes(order.id), linkedThere, `order on the inverse side of ${id}`);
}

const deals = await client.GET("/v2/crm/deals", { params: { query: { count: 100 } } });
const deal = deals.data?.collection.find((d) => d.attributes.title === "Acme spring collection");
const members = await client.GET("/v2/organizations/users", { params: { query: { per_page: 100 } } });
const max = members.data?.collection.find((m) => m.email === "max.schulz@demo.example")?.uuid;
check(deal && max, "the demo deal and member");
const deal_path = { path: { recordId: deal.id } };
const released = await client.PATCH("/v2/crm/deals/{recordId}/relation", { params: deal_path, body: { attributeSlug: "owners", remove: [max] } });
check(released.data, `release: ${JSON.stringify(released.error)}`);
const owned = await client.PATCH("/v2/crm/deals/{recordId}/relation", { params: deal_path, body: { attributeSlug: "owners", add: [max] } });
same(owned.data?.changes.added, [max], "owner assigned");
check(owned.data?.record?.attributes.owners.includes(max), "owners lists the member");

const stale = await client.PATCH(RELATION, { params: { path, header: { "If-Match": '"0"' } }, body: unlink });
same([stale.response.status, stale.error?.code, stale.response.headers.get("etag")], [412, "precondition_failed", current], "stale If-Match");
const stranger = crypto.randomUUID();
const wrong = await client.PATCH(RELATION, { params: { path }, body: { attributeSlug: "products", add: [stranger] } });
same([wrong.response.status, wrong.error?.errors.map((e) => e.pointer)], [400, ["/add/0"]], "unknown product");
check(wrong.error?.errors[0]?.message.includes(stranger), "the error names the ID");
console.log("typescript, workspace document: linked, swapped, unlinked, read the inverse, assigned an owner, typed errors");

export function refused(record: Schemas["OrdersRecord"], deal: Schemas["DealsRecord"]): unknown[] {
  return [
    // @ts-expect-error: orders has no attribute `nope`
    record.attributes.nope,
    // @ts-expect-error: deals has no `products`
    deal.attributes.products,
    // @ts-expect-error: IDs are UUID strings
    ((body: OrdersChange) => body)({ attributeSlug: "products", add: [1, 2] }),
    // @ts-expect-error: attributeSlug is required
    ((body: OrdersChange) => body)({ add: [p1] }),
    // @ts-expect-error: add or remove is required
    ((body: OrdersChange) => body)({ attributeSlug: "products" }),
    // @ts-expect-error: `number` is not a relation or user attribute of orders
    ((body: OrdersChange) => body)({ attributeSlug: "number", add: [p1] }),
    // @ts-expect-error: Prefer takes its documented values
    client.PATCH(RELATION, { params: { path, header: { Prefer: "return=everything" } }, body: unlink }),
  ];
}
