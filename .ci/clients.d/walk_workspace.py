"""The seed's examples with the client generated from the demo workspace's /v2/openapi.json:
typed per object, so `order.attributes.products` is a `list[UUID]`. mypy --strict checks this
file; the never-called `_refused` must fail to type-check line by line (--warn-unused-ignores)."""

from uuid import UUID, uuid4

from crm_workspace import AuthenticatedClient
from crm_workspace.api.members import list_members
from crm_workspace.api.records import (
    get_record_products,
    list_records_deals,
    list_records_orders,
    list_records_products,
    patch_record_orders,
    update_relation_deals,
    update_relation_orders,
)
from crm_workspace.models import (
    DealsRecord,
    DealsRecordList,
    DealsRelationAdd,
    DealsRelationAddAttributeSlug,
    DealsRelationRemove,
    DealsRelationRemoveAttributeSlug,
    DealsRelationResponse,
    ErrorBody,
    MemberList,
    OrdersRecord,
    OrdersRecordEnvelope,
    OrdersRecordList,
    OrdersRecordUpdate,
    OrdersRelationAdd,
    OrdersRelationAddAttributeSlug,
    OrdersRelationRemove,
    OrdersRelationRemoveAttributeSlug,
    OrdersRelationResponse,
    ProductsRecordEnvelope,
    ProductsRecordList,
    UpdateRelationOrdersPrefer,
)
from crm_workspace.types import Unset
from walk_common import BASE, TOKEN, etag, expect

client = AuthenticatedClient(base_url=BASE, token=TOKEN)
PRODUCTS = OrdersRelationAddAttributeSlug.PRODUCTS

orders = expect(list_records_orders.sync_detailed(client=client, count=100), 200, OrdersRecordList)
order = next(o for o in orders.collection if o.attributes.number == "1001")
products = expect(list_records_products.sync_detailed(client=client, count=100), 200, ProductsRecordList)
sku = {p.attributes.sku: p.id for p in products.collection}
p1, p2, p3 = sku["DEMO-001"], sku["DEMO-002"], sku["DEMO-003"]
reset = patch_record_orders.sync_detailed(order.id, client=client, body=OrdersRecordUpdate(products=[]))
assert expect(reset, 200, OrdersRecordEnvelope).record.attributes.products == []


def change(body: OrdersRelationAdd | OrdersRelationRemove, expected: list[UUID]) -> OrdersRelationResponse:
    response = update_relation_orders.sync_detailed(order.id, client=client, body=body)
    changed = expect(response, 200, OrdersRelationResponse)
    assert isinstance(changed.record, OrdersRecord), changed
    assert sorted(changed.record.attributes.products) == sorted(expected), (changed.record.attributes.products, expected)
    etag(response)
    return changed


linked = change(OrdersRelationAdd(attribute_slug=PRODUCTS, add=[p1, p2]), [p1, p2])
assert sorted(linked.changes.added) == sorted([p1, p2]) and linked.changes.removed == []
swapped = change(OrdersRelationAdd(attribute_slug=PRODUCTS, remove=[p2], add=[p3]), [p1, p3])
assert swapped.changes.added == [p3] and swapped.changes.removed == [p2]

unlink = OrdersRelationRemove(attribute_slug=OrdersRelationRemoveAttributeSlug.PRODUCTS, remove=[p1])
response = update_relation_orders.sync_detailed(
    order.id, client=client, body=unlink, prefer=UpdateRelationOrdersPrefer.RETURNMINIMAL
)
unlinked = expect(response, 200, OrdersRelationResponse)
assert isinstance(unlinked.record, Unset) and unlinked.changes.removed == [p1], unlinked
assert response.headers["preference-applied"] == "return=minimal"
current = etag(response)

inverse = expect(get_record_products.sync_detailed(p3, client=client), 200, ProductsRecordEnvelope)
assert order.id in inverse.record.attributes.orders, inverse.record.attributes.orders
gone = expect(get_record_products.sync_detailed(p1, client=client), 200, ProductsRecordEnvelope)
assert order.id not in gone.record.attributes.orders

deals = expect(list_records_deals.sync_detailed(client=client, count=100), 200, DealsRecordList)
deal = next(d for d in deals.collection if d.attributes.title == "Acme spring collection")
members = expect(list_members.sync_detailed(client=client, per_page=100), 200, MemberList)
max_schulz = next(m.uuid for m in members.collection if m.email == "max.schulz@demo.example")
release = DealsRelationRemove(attribute_slug=DealsRelationRemoveAttributeSlug.OWNERS, remove=[max_schulz])
expect(update_relation_deals.sync_detailed(deal.id, client=client, body=release), 200, DealsRelationResponse)
assign = DealsRelationAdd(attribute_slug=DealsRelationAddAttributeSlug.OWNERS, add=[max_schulz])
owned = expect(update_relation_deals.sync_detailed(deal.id, client=client, body=assign), 200, DealsRelationResponse)
assert owned.changes.added == [max_schulz] and isinstance(owned.record, DealsRecord), owned
assert max_schulz in owned.record.attributes.owners

stale = update_relation_orders.sync_detailed(order.id, client=client, body=unlink, if_match='"0"')
refused = expect(stale, 412, ErrorBody)
assert refused.code == "precondition_failed" and stale.headers["etag"] == current, (refused, stale.headers)
stranger = uuid4()
wrong = update_relation_orders.sync_detailed(order.id, client=client, body=OrdersRelationAdd(attribute_slug=PRODUCTS, add=[stranger]))
error = expect(wrong, 400, ErrorBody)
assert [e.pointer for e in error.errors] == ["/add/0"] and str(stranger) in error.errors[0].message, error
print("python, workspace document: linked, swapped, unlinked, read the inverse, assigned an owner, typed errors")


def _refused() -> None:
    """Each line must be a type error."""
    order.attributes.nope  # type: ignore[attr-defined]
    OrdersRelationAdd(attribute_slug=PRODUCTS, add=[1, 2])  # type: ignore[list-item]
    OrdersRelationAdd(add=[p1])  # type: ignore[call-arg]
    OrdersRelationAdd(attribute_slug=PRODUCTS)  # type: ignore[call-arg]
    OrdersRelationRemove(attribute_slug=OrdersRelationRemoveAttributeSlug.PRODUCTS)  # type: ignore[call-arg]
    OrdersRelationAdd(attribute_slug="products", add=[p1])  # type: ignore[arg-type]
    OrdersRelationAddAttributeSlug.NOPE  # type: ignore[attr-defined]
    deal.attributes.products  # type: ignore[attr-defined]
