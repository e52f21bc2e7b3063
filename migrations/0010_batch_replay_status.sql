-- A batch in per-operation mode answers 207 when some operations failed; its replay under an
-- Idempotency-Key must answer the same. Null: 200 (every earlier stored response).
alter table idempotency_keys add column status smallint;
