-- The typed contract between the server and its SQL functions, and the function sources moved
-- out of migrations: from now on every function lives in sql/functions/, one file each, and is
-- re-applied (`create or replace`) on every start under the migration lock. A migration only
-- does what a re-applied file cannot: create types, and drop a signature that changes.

-- Which end of a link a record (or request) is on: the source or the target of a relation's
-- link, or the record of a user attribute's link to a member.
create type crm_link_side as enum ('source', 'target', 'user');

-- What crm_relation_apply did.
create type crm_relation_outcome as enum ('applied', 'not_found', 'precondition_failed', 'invalid');

-- Replaced by sql/functions/crm_relation_apply.sql (typed side and outcome).
drop function crm_relation_apply(uuid, uuid, uuid, text, uuid, uuid, boolean, boolean, uuid[], uuid[], bigint[], boolean);

-- A stored replay keeps what the change produced (the response body and the record version it
-- carried), not HTTP framing: the status was always 200 and the ETag is the version.
alter table idempotency_keys add column record_version bigint;
update idempotency_keys set record_version = trim(both '"' from etag)::bigint where etag ~ '^"[0-9]+"$';
alter table idempotency_keys drop column status, drop column etag;
