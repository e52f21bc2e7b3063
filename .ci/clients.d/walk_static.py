"""The seed's examples with the client generated from the static /openapi.json: one set of
operations for every object (the slug is an argument, record attributes a dict). mypy --strict
checks this file; the never-called `_refused` must fail to type-check line by line."""

from typing import Any
from uuid import UUID, uuid4

from crm_static import AuthenticatedClient
from crm_static.api.members import list_members
from crm_static.api.records import get_record, list_records, patch_record, update_relation
from crm_static.models import (
    ErrorBody,
    MemberList,
    PatchRecordBody,
    RecordDto,
    RecordEnvelope,
    RecordList,
    RelationAdd,
    RelationRemove,
    RelationResponse,
    UpdateRelationPrefer,
)
from crm_static.types import Unset
from walk_common import BASE, TOKEN, etag, expect

client = AuthenticatedClient(base_url=BASE, token=TOKEN)


def values(record: RecordDto) -> dict[str, Any]:
    return record.attributes.additional_properties


def ids(value: Any) -> list[UUID]:
    return [UUID(v) for v in value]


orders = expect(list_records.sync_detailed("orders", client=client, count=100), 200, RecordList)
order = next(o for o in orders.collection if values(o)["number"] == "1001")
products = expect(list_records.sync_detailed("products", client=client, count=100), 200, RecordList)
sku = {values(p)["sku"]: p.id for p in products.collection}
p1, p2, p3 = sku["DEMO-001"], sku["DEMO-002"], sku["DEMO-003"]
empty = PatchRecordBody.from_dict({"products": []})
reset = expect(patch_record.sync_detailed("orders", order.id, client=client, body=empty), 200, RecordEnvelope)
assert values(reset.record)["products"] == []


def change(body: RelationAdd | RelationRemove, expected: list[UUID]) -> RelationResponse:
    response = update_relation.sync_detailed("orders", order.id, client=client, body=body)
    changed = expect(response, 200, RelationResponse)
    assert isinstance(changed.record, RecordDto), changed
    assert sorted(ids(values(changed.record)["products"])) == sorted(expected), (changed.record, expected)
    etag(response)
    return changed


linked = change(RelationAdd(attribute_slug="products", add=[p1, p2]), [p1, p2])
assert sorted(linked.changes.added) == sorted([p1, p2]) and linked.changes.removed == []
swapped = change(RelationAdd(attribute_slug="products", remove=[p2], add=[p3]), [p1, p3])
assert swapped.changes.added == [p3] and swapped.changes.removed == [p2]

unlink = RelationRemove(attribute_slug="products", remove=[p1])
response = update_relation.sync_detailed(
    "orders", order.id, client=client, body=unlink, prefer=UpdateRelationPrefer.RETURNMINIMAL
)
unlinked = expect(response, 200, RelationResponse)
assert isinstance(unlinked.record, Unset) and unlinked.changes.removed == [p1], unlinked
assert response.headers["preference-applied"] == "return=minimal"
current = etag(response)

inverse = expect(get_record.sync_detailed("products", p3, client=client), 200, RecordEnvelope)
assert order.id in ids(values(inverse.record)["orders"])
gone = expect(get_record.sync_detailed("products", p1, client=client), 200, RecordEnvelope)
assert order.id not in ids(values(gone.record)["orders"])

deals = expect(list_records.sync_detailed("deals", client=client, count=100), 200, RecordList)
deal = next(d for d in deals.collection if values(d)["title"] == "Acme spring collection")
members = expect(list_members.sync_detailed(client=client, per_page=100), 200, MemberList)
max_schulz = next(m.uuid for m in members.collection if m.email == "max.schulz@demo.example")
release = RelationRemove(attribute_slug="owners", remove=[max_schulz])
expect(update_relation.sync_detailed("deals", deal.id, client=client, body=release), 200, RelationResponse)
assign = RelationAdd(attribute_slug="owners", add=[max_schulz])
owned = expect(update_relation.sync_detailed("deals", deal.id, client=client, body=assign), 200, RelationResponse)
assert owned.changes.added == [max_schulz] and isinstance(owned.record, RecordDto), owned
assert max_schulz in ids(values(owned.record)["owners"])

stale = update_relation.sync_detailed("orders", order.id, client=client, body=unlink, if_match='"0"')
refused = expect(stale, 412, ErrorBody)
assert refused.code == "precondition_failed" and stale.headers["etag"] == current, (refused, stale.headers)
stranger = uuid4()
wrong = update_relation.sync_detailed(
    "orders", order.id, client=client, body=RelationAdd(attribute_slug="products", add=[stranger])
)
error = expect(wrong, 400, ErrorBody)
assert [e.pointer for e in error.errors] == ["/add/0"] and str(stranger) in error.errors[0].message, error
print("python, static document: linked, swapped, unlinked, read the inverse, assigned an owner, typed errors")


def _refused() -> None:
    """Each line must be a type error."""
    RelationAdd(attribute_slug="products", add=[1, 2])  # type: ignore[list-item]
    RelationAdd(add=[p1])  # type: ignore[call-arg]
    RelationAdd(attribute_slug="products")  # type: ignore[call-arg]
    RelationRemove(attribute_slug="products")  # type: ignore[call-arg]
    order.attributes.nope  # type: ignore[attr-defined]
