-- Idempotency-Key: the first successful response to a keyed request, kept 24 hours. Rows are
-- written in the same transaction as the change they describe, so a stored response exists
-- exactly when the change was committed.
create table idempotency_keys (
    organization_id uuid not null references organizations on delete cascade,
    key text not null,
    fingerprint bytea not null,
    status smallint not null,
    etag text,
    body bytea not null,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (organization_id, key)
);
create index idempotency_keys_expiry_idx on idempotency_keys (created_at);

-- Servers cache tokens and schemas; these notifications tell every server process on the
-- database what to forget. NOTIFY is delivered at commit and de-duplicated per transaction.
create function crm_notify_cache() returns trigger language plpgsql as $$
declare
    changed record;
begin
    if tg_op = 'DELETE' then
        changed := old;
    else
        changed := new;
    end if;
    if tg_table_name = 'api_tokens' then
        perform pg_notify('crm_cache', 'token:' || changed.token_id::text);
    else
        perform pg_notify('crm_cache', 'org:' || changed.organization_id::text);
    end if;
    return null;
end;
$$;

create trigger crm_objects_notify after insert or update or delete on crm_objects
    for each row execute function crm_notify_cache();
create trigger crm_attributes_notify after insert or update or delete on crm_attributes
    for each row execute function crm_notify_cache();
create trigger api_tokens_notify after update or delete on api_tokens
    for each row execute function crm_notify_cache();
