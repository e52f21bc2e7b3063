-- CRM objects, attributes, records and links. Every table leads with organization_id, and
-- every foreign key includes it, so rows of one organization only ever point at rows of the
-- same organization (and the schema can be distributed by organization_id).

create table crm_objects (
    organization_id uuid not null references organizations on delete cascade,
    object_id uuid not null default gen_random_uuid(),
    slug text not null,
    singular_name text not null,
    plural_name text not null,
    is_standard boolean not null default false,
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_objects_pkey primary key (organization_id, object_id),
    constraint crm_objects_slug_key unique (organization_id, slug)
);

create table crm_attributes (
    organization_id uuid not null,
    attribute_id uuid not null default gen_random_uuid(),
    object_id uuid not null,
    key text not null,
    label text not null,
    type text not null,
    position integer not null,
    is_required boolean not null default false,
    is_unique boolean not null default false,
    is_standard boolean not null default false,
    -- id, created_at, updated_at: shown in the schema, read from the record row, never written.
    is_system boolean not null default false,
    is_archived boolean not null default false,
    -- text: email and/or url
    validation text[] not null default '{}',
    -- select, multiselect, status: [{"id": int, "value": text, "color": text|null}]
    options jsonb not null default '[]',
    -- option ids are never reused, so values pointing at a removed option stay dangling, not wrong
    next_option_id bigint not null default 1,
    -- relation: both attributes of a relation share relation_id (the forward attribute's id);
    -- the forward attribute writes links as their source, its inverse as their target.
    relation_id uuid,
    relation_side text,
    relation_type text,
    related_object_id uuid,
    related_object_label text,
    -- currency
    currency text,
    currency_display text,
    currency_decimal boolean,
    currency_grouping boolean,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_attributes_pkey primary key (organization_id, attribute_id),
    constraint crm_attributes_key_key unique (organization_id, object_id, key),
    constraint crm_attributes_object_fkey foreign key (organization_id, object_id)
        references crm_objects on delete cascade,
    constraint crm_attributes_related_object_fkey foreign key (organization_id, related_object_id)
        references crm_objects on delete cascade,
    constraint crm_attributes_type_check check (type in ('text', 'number', 'phone_number', 'date',
        'datetime', 'checkbox', 'select', 'multiselect', 'rating', 'relation', 'status', 'user', 'currency')),
    constraint crm_attributes_relation_check check ((type = 'relation') = (relation_id is not null
        and relation_side in ('source', 'target')
        and relation_type in ('one_to_one', 'one_to_many', 'many_to_one', 'many_to_many')
        and related_object_id is not null))
);

create table crm_records (
    organization_id uuid not null,
    record_id uuid not null default gen_random_uuid(),
    object_id uuid not null,
    -- scalar values by attribute key, in canonical JSON (see domain::value)
    "values" jsonb not null default '{}',
    -- bumped by every write that changes the record; the ETag
    version bigint not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint crm_records_pkey primary key (organization_id, record_id),
    constraint crm_records_object_fkey foreign key (organization_id, object_id)
        references crm_objects on delete cascade
) with (fillfactor = 85);
-- fillfactor: every link change bumps the version; free space on the page keeps that a HOT
-- update, which rewrites no index entry (the GIN index on values included).

-- Listing newest first, one object at a time.
create index crm_records_listing_idx on crm_records (organization_id, object_id, created_at desc, record_id desc);
-- Assert (PUT ?matchingAttribute=) looks records up by value.
create index crm_records_values_idx on crm_records using gin ("values" jsonb_path_ops);

-- isUnique: one row per (attribute, value); the primary key makes concurrent writers collide.
create table crm_unique_values (
    organization_id uuid not null,
    attribute_id uuid not null,
    value text not null,
    record_id uuid not null,
    constraint crm_unique_values_pkey primary key (organization_id, attribute_id, value),
    constraint crm_unique_values_attribute_fkey foreign key (organization_id, attribute_id)
        references crm_attributes on delete cascade,
    constraint crm_unique_values_record_fkey foreign key (organization_id, record_id)
        references crm_records on delete cascade
);
create index crm_unique_values_record_idx on crm_unique_values (organization_id, record_id);

-- Record-to-record links of relation attributes. Each link is stored once and read from both
-- sides: the forward attribute sees target_id, the inverse attribute sees source_id.
create table crm_record_links (
    organization_id uuid not null,
    source_id uuid not null,
    relation_id uuid not null,
    target_id uuid not null,
    -- cardinality, copied from the (immutable) relation type so unique indexes can enforce it
    source_single boolean not null,
    target_single boolean not null,
    -- "in the order they were linked"
    link_seq bigint generated always as identity,
    -- INCLUDE link_seq: a record's links (and their order) come from index-only scans.
    constraint crm_record_links_pkey primary key (organization_id, source_id, relation_id, target_id)
        include (link_seq),
    constraint crm_record_links_source_fkey foreign key (organization_id, source_id)
        references crm_records on delete cascade,
    constraint crm_record_links_target_fkey foreign key (organization_id, target_id)
        references crm_records on delete cascade
    -- No foreign key to the relation's attribute: every insert would lock that one attribute
    -- row (FOR KEY SHARE), and concurrent writers would queue on it as a MultiXact. The
    -- cascade is a trigger instead (crm_attributes_delete_links); the server only writes
    -- links of attributes it has just read.
);
-- Reading a record's links from the inverse side, and the FK cascade from targets.
create index crm_record_links_target_idx on crm_record_links (organization_id, target_id, relation_id, source_id)
    include (link_seq);
-- many_to_one and one_to_one: a source has at most one target in the relation.
create unique index crm_record_links_source_single_idx
    on crm_record_links (organization_id, source_id, relation_id) where source_single;
-- one_to_many and one_to_one: a target is linked from at most one source in the relation.
create unique index crm_record_links_target_single_idx
    on crm_record_links (organization_id, target_id, relation_id) where target_single;

-- Record-to-member links of user attributes.
create table crm_record_members (
    organization_id uuid not null,
    record_id uuid not null,
    attribute_id uuid not null,
    member_id uuid not null,
    link_seq bigint generated always as identity,
    constraint crm_record_members_pkey primary key (organization_id, record_id, attribute_id, member_id)
        include (link_seq),
    constraint crm_record_members_record_fkey foreign key (organization_id, record_id)
        references crm_records on delete cascade,
    constraint crm_record_members_member_fkey foreign key (organization_id, member_id)
        references members on delete cascade
);
create index crm_record_members_member_idx on crm_record_members (organization_id, member_id);

-- Deleting an attribute deletes its links (what a cascading foreign key would do).
create function crm_attributes_delete_links() returns trigger language plpgsql as $$
begin
    delete from crm_record_links where organization_id = old.organization_id and relation_id = old.attribute_id;
    delete from crm_record_members where organization_id = old.organization_id and attribute_id = old.attribute_id;
    return null;
end;
$$;
create trigger crm_attributes_delete_links after delete on crm_attributes
    for each row execute function crm_attributes_delete_links();

-- The standard objects every organization has: people and companies, with their attributes.
create function crm_seed_standard_objects(org uuid) returns void language plpgsql as $$
declare
    people uuid := gen_random_uuid();
    companies uuid := gen_random_uuid();
    company_attr uuid := gen_random_uuid();
begin
    insert into crm_objects (organization_id, object_id, slug, singular_name, plural_name, is_standard)
    values (org, people, 'people', 'Person', 'People', true),
           (org, companies, 'companies', 'Company', 'Companies', true);

    insert into crm_attributes (organization_id, object_id, key, label, type, position, is_required,
                                is_standard, is_system, validation)
    select org, o.object_id, a.key, a.label, a.type, a.position, a.is_required, true, a.is_system, a.validation
    from (values (people), (companies)) as o (object_id)
    cross join (values
        ('id', 'ID', 'text', 0, true, true, '{}'::text[]),
        ('created_at', 'Created At', 'datetime', 1, true, true, '{}'),
        ('updated_at', 'Updated At', 'datetime', 2, false, true, '{}')
    ) as a (key, label, type, position, is_required, is_system, validation);

    insert into crm_attributes (organization_id, object_id, key, label, type, position, is_standard, validation)
    values (org, people, 'first_name', 'First Name', 'text', 3, true, '{}'),
           (org, people, 'last_name', 'Last Name', 'text', 4, true, '{}'),
           (org, people, 'email', 'Email', 'text', 5, true, '{email}'),
           (org, people, 'phone_number', 'Phone Number', 'phone_number', 6, true, '{}'),
           (org, people, 'job_title', 'Job Title', 'text', 7, true, '{}'),
           (org, companies, 'name', 'Name', 'text', 3, true, '{}'),
           (org, companies, 'domain', 'Domain', 'text', 4, true, '{}');

    insert into crm_attributes (organization_id, attribute_id, object_id, key, label, type, position,
                                is_standard, relation_id, relation_side, relation_type,
                                related_object_id, related_object_label)
    values (org, company_attr, people, 'company', 'Company', 'relation', 8, true,
            company_attr, 'source', 'many_to_one', companies, 'People'),
           (org, gen_random_uuid(), companies, 'people', 'People', 'relation', 5, true,
            company_attr, 'target', 'one_to_many', people, 'Company');
end;
$$;

select crm_seed_standard_objects(organization_id) from organizations;
