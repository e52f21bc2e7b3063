"""Schemathesis hooks for .ci/contract: make schema-valid requests also valid against the
workspace's *data*, the way a real client's are.

A document states shapes; a few rules of the API depend on stored data and cannot be in it:
IDs to link must name existing records (or active members), `isUnique` values must be new,
an Idempotency-Key names one logical request, `matchingAttribute` names a key the body
carries, no ID may be both added and removed, and a batch names existing records and carries
at most 10,000 IDs in all. For positive (schema-valid) cases only, these
hooks draw link IDs from the workspace, make unique values fresh, give each request its own
idempotency key, pick the matching attribute the body carries (adding a value for one when it
carries none), and keep `remove` apart from `add`; records deleted during the run leave the pool
of link targets. Negative cases are sent as generated.
Everything else is exactly what schemathesis made, but for one generator defect: the coverage phase sends `If-Match: 0` as a *positive* value
although the header's documented pattern refuses it; such a header is dropped from positive
cases (If-Match is optional).
"""

import json
import os
import random
import re
import urllib.request
import uuid

import schemathesis

BASE = os.environ["ST_BASE"]
random = random.Random(0)
TOKEN = os.environ["ST_TOKEN"]
CALLBACK = "http://127.0.0.1:9/hook"


def _get(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


OBJECTS = {o["slug"]: o for o in _get("/v2/crm/objects")["collection"]}
RECORDS = {slug: [r["id"] for r in _get(f"/v2/crm/{slug}?count=100")["collection"]] for slug in OBJECTS}
MEMBERS = [m["uuid"] for m in _get("/v2/organizations/users?per_page=100")["collection"] if m.get("isActive", True)]


DOCUMENT = _get("/v2/openapi.json")
# The If-Match pattern, as the document states it.
IF_MATCH = re.compile(next(
    param["schema"]["pattern"]
    for item in DOCUMENT["paths"].values()
    for operation in item.values() if isinstance(operation, dict)
    for param in operation.get("parameters", []) if param["name"] == "If-Match"
))
# The keys each object's assert may match on, as the document states them.
MATCHABLE = {
    path.split("/")[3]: param["schema"]["enum"]
    for path, item in DOCUMENT["paths"].items() if "put" in item
    for param in item["put"].get("parameters", []) if param["name"] == "matchingAttribute"
}


def _attributes(slug):
    return {a["key"]: a for a in OBJECTS.get(slug, {}).get("attributes", [])}


def _targets(attribute):
    if attribute["type"] == "user":
        return MEMBERS
    return RECORDS.get(attribute.get("relatedObjectSlug"), [])


def _linkable(ids, attribute):
    targets = _targets(attribute)
    if not isinstance(ids, list) or not ids:
        return ids
    if not targets:
        return []
    return [random.choice(targets) for _ in ids]


def _fresh(attribute):
    kind = attribute["type"]
    if kind in ("number", "currency"):
        return random.randint(1, 2**50)
    if kind == "date":
        return f"{random.randint(1000, 9999)}-01-01"
    if kind == "datetime":
        return f"{random.randint(1000, 9999)}-01-01T00:00:00Z"
    if kind == "checkbox":
        return True
    if kind == "rating":
        return random.randint(0, 5)
    if kind in ("select", "status"):
        return {"id": attribute["options"][0]["id"]} if attribute.get("options") else None
    if kind == "phone_number":
        return "+" + "".join(random.choice("0123456789") for _ in range(14))
    validation = attribute.get("validation") or []
    if "email" in validation:
        return f"{uuid.uuid4().hex}@example.com"
    if "url" in validation:
        return f"https://{uuid.uuid4().hex}.example/"
    return uuid.uuid4().hex


def _record_body(slug, body, keep=None):
    for key, attribute in _attributes(slug).items():
        if key not in body or body[key] is None:
            continue
        if attribute["type"] in ("relation", "user"):
            body[key] = _linkable(body[key], attribute)
        elif attribute.get("isUnique") and key != keep:
            body[key] = _fresh(attribute)


def _relation_body(slug, body):
    attribute = _attributes(slug).get(body.get("attributeSlug"))
    if attribute is None:
        return
    if isinstance(body.get("add"), list) and body["add"]:
        body["add"] = _linkable(body["add"], attribute)
    if isinstance(body.get("remove"), list) and isinstance(body.get("add"), list):
        body["remove"] = [i for i in body["remove"] if i.lower() not in {a.lower() for a in body["add"]}]
    if not body.get("add") and not body.get("remove"):
        # Nothing to link to (the related object has no records): unlinking is always valid.
        body["remove"] = [str(uuid.UUID(int=random.getrandbits(128)))]


MAX_BATCH_IDS = 10_000


def _batch_body(slug, body):
    # A batch's operations are relation bodies of existing records; their IDs together stay
    # within the batch limit, which a per-list schema cannot state.
    operations = body.get("operations")
    if not isinstance(operations, list):
        return
    budget = MAX_BATCH_IDS
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        if RECORDS.get(slug):
            operation["recordId"] = random.choice(RECORDS[slug])
        if isinstance(operation.get("ifMatch"), str) and not IF_MATCH.match(operation["ifMatch"]):
            del operation["ifMatch"]
        for key in ("add", "remove"):
            if isinstance(operation.get(key), list):
                operation[key] = operation[key][:max(budget, 1)]
                budget -= len(operation[key])
        _relation_body(slug, operation)


@schemathesis.hook
def map_case(context, case):
    parts = case.operation.path.strip("/").split("/")
    url = case.body.get("callbackUrl") if isinstance(case.body, dict) else None
    if parts[:2] == ["v2", "webhooks"] and isinstance(url, str) and re.match(r"https?://", url) and len(url) <= 2048:
        # A schema-valid callback must also resolve to an allowed address: a closed local port
        # (private addresses are allowed for this run), so no delivery leaves the machine.
        case.body["callbackUrl"] = CALLBACK
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if case.operation.path == "/v2/changes" and (case.query or {}).get("after"):
        case.query["after"] = _get("/v2/changes/cursor")["cursor"]
        return case
    if len(parts) < 3 or parts[:2] != ["v2", "crm"] or parts[2] == "objects" or parts[2] not in OBJECTS:
        return case
    slug = parts[2]
    if case.headers and not IF_MATCH.match(case.headers.get("If-Match", "*")):
        del case.headers["If-Match"]
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if not isinstance(case.body, dict):
        return case
    method = case.operation.method.lower()
    if parts[-1] == "relation":
        _relation_body(slug, case.body)
    elif parts[-1] == "relations":
        _batch_body(slug, case.body)
    elif method == "put":
        attributes = _attributes(slug)
        matchable = MATCHABLE.get(slug, [])
        carried = [k for k in matchable if case.body.get(k) is not None]
        if not carried and matchable:
            # The body must carry the value it is matched on, which no schema can say.
            carried = [k for k in matchable if _fresh(attributes[k]) is not None][:1]
            case.body.update({k: _fresh(attributes[k]) for k in carried})
        if carried:
            case.query = dict(case.query or {}, matchingAttribute=carried[0])
        _record_body(slug, case.body, keep=(case.query or {}).get("matchingAttribute"))
    elif method in ("post", "patch"):
        _record_body(slug, case.body)
    return case



@schemathesis.hook
def after_call(context, case, response):
    """Keeps the pool of link targets true: a record deleted (by any phase) is no longer one."""
    parts = case.operation.path.strip("/").split("/")
    deleted = case.method.upper() == "DELETE" and 200 <= response.status_code < 300
    if deleted and len(parts) == 4 and parts[:2] == ["v2", "crm"] and parts[2] in RECORDS:
        gone = str(case.path_parameters.get("recordId", "")).lower()
        RECORDS[parts[2]] = [r for r in RECORDS[parts[2]] if r.lower() != gone]
