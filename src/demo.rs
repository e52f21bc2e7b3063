//! `serve --demo`: the shop of the relation page, seeded idempotently into organization `demo`.
//!
//! Every item is asserted by a stable key (object slug, attribute key, member email, product
//! sku, order number, company domain, deal title), so a re-run creates only what is missing.

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::domain::event::ChangeContext;
use crate::domain::member::{Email, Role};
use crate::domain::record_input;
use crate::domain::schema::ObjectDef;
use crate::domain::schema_input::{AttributeSpec, OptionSpec, new_attribute};
use crate::domain::scope::{Scope, Scopes};
use crate::domain::slug::Slug;
use crate::domain::token::NewToken;

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The actor of the demo's changes in the feed.
fn actor() -> ChangeContext {
    ChangeContext::cli("serve --demo")
}

/// What the printed examples refer to.
pub struct Demo {
    pub token: String,
    pub order: Uuid,
    pub products: Vec<Uuid>,
    pub deal: Uuid,
    pub owner: Uuid,
}

/// Seeds (or completes) the demo workspace and mints a fresh token with every scope.
pub async fn seed(pool: &PgPool) -> DemoResult<Demo> {
    let org = match db::organizations::find_by_slug(pool, "demo").await? {
        Some(org) => org.organization_id,
        None => {
            db::organizations::create(pool, &Slug::parse("demo")?, "Demo Workspace", &actor()).await?.organization_id
        }
    };
    let mut owners = Vec::new();
    for (email, first, last, role) in [
        ("lena.meier@demo.example", "Lena", "Meier", Role::Owner),
        ("max.schulz@demo.example", "Max", "Schulz", Role::Admin),
        ("sara.ito@demo.example", "Sara", "Ito", Role::User),
    ] {
        owners.push(member(pool, org, email, first, last, role).await?);
    }
    schema(pool, org).await?;
    let mut products = Vec::new();
    for (i, (name, price)) in
        [("Linen dress", 89), ("Wool scarf", 35), ("Silk shirt", 120), ("Denim jacket", 149), ("Canvas bag", 29)]
            .into_iter()
            .enumerate()
    {
        let sku = format!("DEMO-{:03}", i + 1);
        products.push(assert(pool, org, "products", "sku", json!({"sku": sku, "name": name, "price": price})).await?);
    }
    let acme = assert(pool, org, "companies", "domain", json!({"domain": "acme.example", "name": "Acme Inc"})).await?;
    assert(pool, org, "companies", "domain", json!({"domain": "globex.example", "name": "Globex Corp"})).await?;
    let order = assert(pool, org, "orders", "number", json!({"number": "1001", "customer": [acme]})).await?;
    assert(pool, org, "orders", "number", json!({"number": "1002", "products": [products[4]]})).await?;
    let deal = assert(pool, org, "deals", "title", json!({"title": "Acme spring collection"})).await?;
    let token = NewToken::generate();
    db::tokens::create(pool, org, &token, Some("demo"), &Scopes::new(Scope::ALL)).await?;
    Ok(Demo { token: token.plaintext, order, products, deal, owner: owners[1] })
}

async fn member(pool: &PgPool, org: Uuid, email: &str, first: &str, last: &str, role: Role) -> DemoResult<Uuid> {
    if let Some(existing) = db::members::find_by_email(pool, org, email).await? {
        return Ok(existing);
    }
    let new = db::members::NewMember {
        email: Email::parse(email)?,
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        role,
    };
    Ok(db::members::add(pool, org, &new).await?.member_id)
}

async fn schema(pool: &PgPool, org: Uuid) -> DemoResult<()> {
    for (slug, singular, plural) in
        [("products", "Product", "Products"), ("orders", "Order", "Orders"), ("deals", "Deal", "Deals")]
    {
        let new = db::objects::NewObject {
            slug: &Slug::parse(slug)?,
            singular_name: singular,
            plural_name: plural,
            is_active: true,
        };
        match db::objects::create(pool, org, &new, &actor()).await {
            Ok(()) | Err(db::objects::CreateError::DuplicateSlug(_)) => {}
            Err(db::objects::CreateError::Database(e)) => return Err(e.into()),
        }
    }
    let text = |label: &str, unique: bool| spec(label, "text", |s| s.is_unique = Some(unique));
    attribute(pool, org, "products", "name", text("Name", false)).await?;
    attribute(pool, org, "products", "price", spec("Price", "number", |s| s.is_unique = Some(false))).await?;
    attribute(pool, org, "products", "sku", text("SKU", true)).await?;
    attribute(pool, org, "orders", "number", text("Number", true)).await?;
    let relation = |label: &str, kind: &str, related: &str, inverse: &str| {
        spec(label, "relation", |s| {
            s.relation_type = Some(kind.into());
            s.related_object_slug = Some(related.into());
            s.related_object_label = Some(inverse.into());
        })
    };
    attribute(pool, org, "orders", "products", relation("Products", "many_to_many", "products", "Orders")).await?;
    attribute(pool, org, "orders", "customer", relation("Customer", "many_to_one", "companies", "Orders")).await?;
    attribute(pool, org, "deals", "title", text("Title", true)).await?;
    attribute(pool, org, "deals", "owners", spec("Owners", "user", |_| {})).await?;
    let stage = spec("Stage", "status", |s| {
        s.options =
            Some(["Lead", "Negotiation", "Won"].map(|v| OptionSpec { value: v.into(), ..Default::default() }).into())
    });
    attribute(pool, org, "deals", "stage", stage).await
}

fn spec(label: &str, kind: &str, extra: impl FnOnce(&mut AttributeSpec)) -> AttributeSpec {
    let mut spec = AttributeSpec { label: Some(label.into()), kind: Some(kind.into()), ..Default::default() };
    extra(&mut spec);
    spec
}

async fn attribute(pool: &PgPool, org: Uuid, slug: &str, key: &str, spec: AttributeSpec) -> DemoResult<()> {
    let objects = db::schema::load(pool, org, None).await?;
    let object = find(&objects, slug)?;
    if object.attribute(key).is_some() {
        return Ok(());
    }
    let new = new_attribute(&spec).map_err(|p| format!("demo attribute {slug}.{key}: {p:?}"))?;
    let related = match &new.relation {
        Some(r) => Some(find(&objects, &r.related_object_slug)?),
        None => None,
    };
    db::attributes::add(pool, org, object, &new, related, &actor()).await?;
    Ok(())
}

fn find<'a>(objects: &'a [ObjectDef], slug: &str) -> DemoResult<&'a ObjectDef> {
    Ok(objects.iter().find(|o| o.slug == slug).ok_or_else(|| format!("demo object {slug} is missing"))?)
}

async fn assert(pool: &PgPool, org: Uuid, slug: &str, matching: &str, body: Value) -> DemoResult<Uuid> {
    let objects = db::schema::load(pool, org, Some(slug)).await?;
    let object = find(&objects, slug)?;
    let write = record_input::parse(object, &body).map_err(|p| format!("demo record: {p:?}"))?;
    let attr = object.attribute(matching).ok_or("demo matching attribute is missing")?;
    let value = write.scalar(matching).cloned().ok_or("demo record lacks its matching value")?;
    let (row, _) = db::record_write::assert(pool, org, object, (attr, &value), &write, Vec::new(), &actor())
        .await
        .map_err(|e| format!("demo record {slug}: {e}"))?;
    Ok(row.record_id)
}

/// The text `serve --demo` prints: the token and three ready-to-paste requests.
pub fn instructions(demo: &Demo, base: &str) -> String {
    let request = |title: &str, path: String, body: Value| {
        format!(
            "# {title}\ncurl -s -X PATCH {base}{path} \\\n  -H 'Authorization: Bearer {}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'\n",
            demo.token
        )
    };
    let order = format!("/v2/crm/orders/{}/relation", demo.order);
    let p = &demo.products;
    [
        format!("Demo workspace 'demo' is ready. Token with every scope (shown once):\n{}\n", demo.token),
        request(
            "Link two products to order 1001",
            order.clone(),
            json!({"attributeSlug": "products", "add": [p[0], p[1]]}),
        ),
        request(
            "Swap a linked product for another",
            order,
            json!({"attributeSlug": "products", "remove": [p[1]], "add": [p[2]]}),
        ),
        request(
            "Assign a team member to the deal's owners",
            format!("/v2/crm/deals/{}/relation", demo.deal),
            json!({"attributeSlug": "owners", "add": [demo.owner]}),
        ),
    ]
    .join("\n")
}
