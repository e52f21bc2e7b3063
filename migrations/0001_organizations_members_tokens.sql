-- Tenancy foundation. Every table leads with organization_id so the data can later be
-- distributed by organization (e.g. Citus, distribution column organization_id).

create table organizations (
    organization_id uuid primary key default gen_random_uuid(),
    slug text not null,
    name text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint organizations_slug_key unique (slug)
);

create table members (
    organization_id uuid not null references organizations on delete cascade,
    member_id uuid not null default gen_random_uuid(),
    email text not null,
    first_name text,
    last_name text,
    role text not null default 'user',
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint members_pkey primary key (organization_id, member_id),
    constraint members_role_check check (role in ('owner', 'admin', 'user'))
);

-- One member per address within an organization, whatever the case.
create unique index members_email_key on members (organization_id, lower(email));
-- The listing order (oldest first) without a sort.
create index members_listing_idx on members (organization_id, created_at, member_id);

create table api_tokens (
    organization_id uuid not null references organizations on delete cascade,
    token_id uuid not null,
    name text,
    secret_hash bytea not null,
    scopes text[] not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    constraint api_tokens_pkey primary key (organization_id, token_id),
    constraint api_tokens_hash_length check (octet_length(secret_hash) = 32)
);

-- Authentication looks a token up by the id it carries, before the organization is known.
create unique index api_tokens_token_id_key on api_tokens (token_id);
