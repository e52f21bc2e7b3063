-- What each event insert checked beyond its own row, dropped:
--
-- The foreign key to organizations. Its check locks the organization's row (FOR KEY SHARE),
-- and with concurrent writers in one organization every such lock makes a new MultiXact of
-- all the transactions holding it: the one row every write of an organization touches (about
-- 80,000 MultiXact members in 8 s of the hot path's load). As for links and their attribute
-- (0002), the cascade is a trigger instead; an organization is never deleted while it writes.
--
-- The checks on type and aggregate_type. They repeated domain::event::EventType, the one
-- writer of both columns, and each insert prepared both expressions again.
alter table crm_events
    drop constraint crm_events_organization_id_fkey,
    drop constraint crm_events_type_check,
    drop constraint crm_events_aggregate_type_check;

create function crm_organizations_delete_events() returns trigger language plpgsql as $$
begin
    delete from crm_events e using deleted d where e.organization_id = d.organization_id;
    return null;
end;
$$;
create trigger crm_organizations_delete_events after delete on organizations
    referencing old table as deleted for each statement execute function crm_organizations_delete_events();
