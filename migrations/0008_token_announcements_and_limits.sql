-- Servers now also cache token ids they found unknown (so made-up tokens cost no query each).
-- A token created later under such an id must be announced like a revoked one, or a server
-- would go on refusing it.
drop trigger api_tokens_notify on api_tokens;
create trigger api_tokens_notify after insert or update or delete on api_tokens
    for each row execute function crm_notify_cache();

-- Per-organization limits on what a tenant can make us store. The server passes its configured
-- limits as settings of each connection (crm.max_*); a connection without them (psql, say) is
-- not limited. Each check takes a transaction-scoped advisory lock on what it counts, so
-- concurrent inserts cannot both pass at the last free place.
create function crm_setting_limit(setting text) returns integer language sql stable as $$
    select nullif(current_setting(setting, true), '')::integer
$$;

create function crm_check_limit() returns trigger language plpgsql as $$
declare
    most integer;
    used bigint;
begin
    if tg_table_name = 'crm_objects' then
        most := crm_setting_limit('crm.max_objects');
        if most is null then return new; end if;
        perform pg_advisory_xact_lock(hashtextextended('crm_objects/' || new.organization_id::text, 8));
        select count(*) into used from crm_objects where organization_id = new.organization_id;
        if used >= most then
            raise exception 'An organization can have at most % objects (the two standard ones included).', most
                using errcode = 'check_violation', constraint = 'crm_limit_objects';
        end if;
    elsif tg_table_name = 'crm_attributes' then
        most := crm_setting_limit('crm.max_options_per_attribute');
        if most is not null and jsonb_array_length(new.options) > most then
            raise exception 'An attribute can have at most % options.', most
                using errcode = 'check_violation', constraint = 'crm_limit_options';
        end if;
        most := crm_setting_limit('crm.max_attributes_per_object');
        if tg_op = 'UPDATE' or most is null then return new; end if;
        perform pg_advisory_xact_lock(hashtextextended('crm_attributes/' || new.object_id::text, 8));
        select count(*) into used from crm_attributes
            where organization_id = new.organization_id and object_id = new.object_id;
        if used >= most then
            raise exception 'An object can have at most % attributes (its three system attributes and the inverse sides of relations included).', most
                using errcode = 'check_violation', constraint = 'crm_limit_attributes';
        end if;
    elsif tg_table_name = 'idempotency_keys' then
        most := crm_setting_limit('crm.max_idempotency_keys');
        if most is null then return new; end if;
        select count(*) into used from (
            select 1 from idempotency_keys where organization_id = new.organization_id limit most) kept;
        if used >= most then
            raise exception 'An organization can keep at most % Idempotency-Key responses (each for 24 hours); retry without a key or later.', most
                using errcode = 'check_violation', constraint = 'crm_limit_idempotency_keys';
        end if;
    end if;
    return new;
end;
$$;

create trigger crm_objects_limit before insert on crm_objects
    for each row execute function crm_check_limit();
create trigger crm_attributes_limit before insert on crm_attributes
    for each row execute function crm_check_limit();
create trigger crm_attributes_options_limit before update of options on crm_attributes
    for each row when (new.options is distinct from old.options) execute function crm_check_limit();
create trigger idempotency_keys_limit before insert on idempotency_keys
    for each row execute function crm_check_limit();
