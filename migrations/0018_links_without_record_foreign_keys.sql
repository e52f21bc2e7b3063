-- Record-to-record links keep no foreign keys to their records. Each checked every inserted
-- link with a trigger per key: a query run through SPI for the link's source and another for
-- its target, about 40,000 instructions each, so the relation endpoint's "add 2" paid four,
-- more than its event costs, and a batch of 100 additions 200 (`bench/count`; the README has
-- the figures). What they guaranteed is kept another way:
--
-- * A link's records exist when it is written. The record whose links change is locked by its
--   writer (crm_relation_apply, crm_records_lock, or the record write's own row), and the
--   records it is linked to are locked FOR KEY SHARE by the validation every writer runs first
--   (crm_link_unlinkable, crm_link_unlinkable_set): the lock the foreign key's check took, in
--   the query that checks them, so a record being deleted is waited for and then found
--   missing, and a record cannot be deleted until the links to it commit.
-- * Deleting a record deletes its links, as the cascade did: the trigger below, once per
--   statement (a record's delete, its object's, its organization's).
--
-- User attributes' links (crm_record_members) keep theirs: members are never deleted but with
-- their organization, and nothing measured asks for it.
alter table crm_record_links
    drop constraint crm_record_links_source_fkey,
    drop constraint crm_record_links_target_fkey;

-- The trigger reads the links in its statement's snapshot. In READ COMMITTED (every
-- connection of the server) that is taken after the delete waited for the writers of links to
-- the record, so it sees their links; a transaction on one snapshot would not (a cascading
-- foreign key reads the newest rows instead), so it is refused. Nested loops only: PL/pgSQL
-- keeps the first plan made in a session, and one made for a large cascade (a hash or merge
-- join over every link) would then serve every single delete.
create function crm_records_delete_links() returns trigger language plpgsql
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off as $$
begin
    if current_setting('transaction_isolation') <> 'read committed' then
        raise exception 'records are deleted in READ COMMITTED transactions only (their links are deleted by a trigger that must see the newest links)';
    end if;
    delete from crm_record_links l using deleted d
    where l.organization_id = d.organization_id and l.source_id = d.record_id;
    delete from crm_record_links l using deleted d
    where l.organization_id = d.organization_id and l.target_id = d.record_id;
    return null;
end;
$$;
create trigger crm_records_delete_links after delete on crm_records
    referencing old table as deleted for each statement execute function crm_records_delete_links();
