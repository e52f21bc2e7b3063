//! Test harness: one throwaway PostgreSQL cluster per test binary, one database per test,
//! requests through the real router.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use crm_api::db;
use crm_api::db::events::{NewEvent, Rendered};
use crm_api::db::links::{LinkSide, Owner};
use crm_api::domain::event::{ChangeContext, EventType};
use crm_api::domain::member::{Email, Role};
use crm_api::domain::scope::{Scope, Scopes};
use crm_api::domain::slug::Slug;
use crm_api::domain::token::NewToken;
use crm_api::embedded_pg::{EmbeddedPg, Options};
use crm_api::http::{self, middleware::LayerConfig, state::AppState};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tower::ServiceExt;
use uuid::Uuid;

const TEMPLATE: &str = "crm_template";

struct Cluster {
    pg: EmbeddedPg,
}

/// Starts the cluster and migrates the template database, once per test binary. It runs on
/// its own runtime because each `#[tokio::test]` has a runtime of its own; the cluster stops
/// and its directory is removed when the test process exits (see `embedded_pg`'s watchdog).
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let data_dir = std::env::temp_dir().join(format!(
                    "crm-api-test-{}-{}",
                    std::process::id(),
                    Uuid::new_v4().simple()
                ));
                let options =
                    Options { data_dir, durable: false, remove_on_exit: true, max_connections: 300, tuning: None };
                let pg = EmbeddedPg::ensure(&options).await.expect("start the test cluster");
                let mut admin = PgConnection::connect(&pg.database_url("postgres")).await.unwrap();
                sqlx::query("create database crm_template").execute(&mut admin).await.unwrap();
                let pool = db::connect(&pg.database_url(TEMPLATE), 2).await.unwrap();
                db::migrate(&pool).await.unwrap();
                pool.close().await;
                Cluster { pg }
            })
        })
        .join()
        .expect("cluster start-up thread")
    })
}

/// A fresh database with the schema, and the router over it.
pub struct TestApp {
    pub router: Router,
    pub pool: PgPool,
    pub database_url: String,
}

/// An organization with a token holding every scope.
pub struct TestOrg {
    pub id: Uuid,
    pub slug: String,
    pub token: String,
}

/// A response, body parsed as JSON (`Value::Null` when empty).
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The envelope's `code`.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The pointers of the envelope's `errors`.
    pub fn pointers(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|e| e.iter().map(|e| e["pointer"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|state| state).await
}

/// Webhook settings for tests: http and 127.0.0.1 allowed, retries after 50 ms.
pub fn webhook_test_settings() -> crm_api::webhooks::Settings {
    let mut settings = crm_api::webhooks::Settings { allow_http: true, allow_private: true, ..Default::default() };
    settings.retry.first = Duration::from_millis(50);
    settings.retry.cap = Duration::from_millis(200);
    // Longer than the 10 s delivery limit, so a slow receiver never loses its worker the lease.
    settings.lease = Duration::from_secs(11);
    settings
}

/// A fresh database and a router over the state `configure` makes of the default one.
pub async fn spawn_app_with(configure: impl FnOnce(AppState) -> AppState) -> TestApp {
    let cluster = cluster();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&cluster.pg.database_url("postgres")).await.unwrap();
    let create = format!("create database {name} template {TEMPLATE}");
    sqlx::query(AssertSqlSafe(create)).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
    let database_url = cluster.pg.database_url(&name);
    let pool = db::connect(&database_url, 10).await.unwrap();
    let layers = LayerConfig {
        cors_origins: vec!["https://app.example".into()],
        request_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(10),
    };
    let router = http::router(configure(AppState::new(pool.clone())), &layers).unwrap();
    TestApp { router, pool, database_url }
}

impl TestApp {
    /// Creates an organization and a token with every scope.
    pub async fn org(&self, slug: &str) -> TestOrg {
        let org =
            db::organizations::create(&self.pool, &Slug::parse(slug).unwrap(), slug, &ChangeContext::cli("org create"))
                .await
                .unwrap();
        let token = self.token(org.organization_id, &Scope::ALL).await;
        TestOrg { id: org.organization_id, slug: slug.to_owned(), token }
    }

    /// A token of `organization_id` with `scopes`.
    pub async fn token(&self, organization_id: Uuid, scopes: &[Scope]) -> String {
        let token = NewToken::generate();
        let scopes = Scopes::new(scopes.iter().copied());
        db::tokens::create(&self.pool, organization_id, &token, Some("test"), &scopes).await.unwrap();
        token.plaintext
    }

    /// Adds a member and returns its id.
    pub async fn member(&self, organization_id: Uuid, email: &str) -> Uuid {
        let new = db::members::NewMember {
            email: Email::parse(email).unwrap(),
            first_name: None,
            last_name: None,
            role: Role::User,
        };
        db::members::add(&self.pool, organization_id, &new).await.unwrap().member_id
    }

    /// Sends a request through the real router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body with {status}: {}", String::from_utf8_lossy(&bytes)))
        };
        TestResponse { status, headers, body }
    }

    /// `method path` with a bearer token and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::GET, path, Some(token), None).await
    }
}

impl TestApp {
    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a record and returns its id, failing the test on anything but 201.
    pub async fn record(&self, org: &TestOrg, slug: &str, body: Value) -> Uuid {
        let response = self.post(&format!("/v2/crm/{slug}"), &org.token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["record"]["id"].as_str().unwrap().parse().unwrap()
    }

    /// A record's attributes as the API returns them.
    pub async fn attributes(&self, org: &TestOrg, slug: &str, id: Uuid) -> Value {
        let response = self.get(&format!("/v2/crm/{slug}/{id}"), &org.token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.body["record"]["attributes"].clone()
    }

    /// Adds an attribute through the API and returns its key.
    pub async fn attribute(&self, org: &TestOrg, slug: &str, body: Value) -> String {
        let response = self.post(&format!("/v2/crm/objects/{slug}/attributes"), &org.token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        response.body["attribute"]["key"].as_str().unwrap().to_owned()
    }

    /// Creates a custom object through the API.
    pub async fn object(&self, org: &TestOrg, slug: &str) {
        let singular = slug.trim_end_matches('s');
        let body = serde_json::json!({"slug": slug, "singularName": singular, "pluralName": slug});
        let response = self.post("/v2/crm/objects", &org.token, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    }

    /// The shop of the relation page: products, orders (products many_to_many with inverse
    /// `orders`, customer many_to_one to companies), deals (user attribute `owners`).
    pub async fn shop(&self, org: &TestOrg) {
        use serde_json::json;
        self.object(org, "products").await;
        self.attribute(org, "products", json!({"label": "Name", "type": "text", "isUnique": false})).await;
        self.attribute(org, "products", json!({"label": "Price", "type": "number", "isUnique": false})).await;
        self.attribute(org, "products", json!({"label": "SKU", "type": "text", "isUnique": true})).await;
        self.object(org, "orders").await;
        self.attribute(org, "orders", json!({"label": "Number", "type": "text", "isUnique": false})).await;
        let products = json!({"label": "Products", "type": "relation", "relationType": "many_to_many",
            "relatedObjectSlug": "products", "relatedObjectLabel": "Orders"});
        assert_eq!(self.attribute(org, "orders", products).await, "products");
        let customer = json!({"label": "Customer", "type": "relation", "relationType": "many_to_one",
            "relatedObjectSlug": "companies", "relatedObjectLabel": "Orders"});
        assert_eq!(self.attribute(org, "orders", customer).await, "customer");
        self.object(org, "deals").await;
        self.attribute(org, "deals", json!({"label": "Title", "type": "text", "isUnique": false})).await;
        assert_eq!(self.attribute(org, "deals", json!({"label": "Owners", "type": "user"})).await, "owners");
    }
}

impl TestApp {
    /// What `crm_relation_apply` takes for `orders.products` of `org`'s shop on `order`, as the
    /// relation endpoint renders it: the orders object, the links' owner and the change's event.
    /// For tests that call the endpoint's function inside a transaction of their own.
    pub async fn orders_products_call(&self, org: &TestOrg, order: Uuid) -> (Uuid, Owner, Rendered) {
        let (object, relation, related): (Uuid, Uuid, Uuid) = sqlx::query_as(
            "select a.object_id, a.relation_id, o.object_id from crm_attributes a
             join crm_objects o on o.organization_id = a.organization_id and o.slug = 'products'
             where a.organization_id = $1 and a.key = 'products'",
        )
        .bind(org.id)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let owner = Owner {
            side: LinkSide::Source,
            id: relation,
            related_object: Some(related),
            source_single: false,
            target_single: false,
        };
        let event = NewEvent {
            id: Uuid::new_v4(),
            kind: EventType::RelationUpdated,
            aggregate_id: order,
            object_slug: "orders".into(),
            related_object_slug: Some("products".into()),
            record: Some((order, 0)),
            data: serde_json::json!({"attributeSlug": "products", "relatedObjectSlug": "products",
                "inverseAttributeSlug": "orders"}),
        }
        .render_link_change(&ChangeContext::cli("test"));
        (object, owner, event)
    }

    /// Returns once some session of the test's database waits for a lock (bounded: fails after
    /// 30 s), for tests that order two transactions by a lock one of them holds.
    pub async fn lock_waited_for(&self) {
        for _ in 0..3000 {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no session came to wait for a lock");
    }
}

impl TestApp {
    /// A second server process on the same database: its own pool, caches and listener.
    pub async fn second_server(&self) -> TestApp {
        let pool = db::connect(&self.database_url, 5).await.unwrap();
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let router = http::router(AppState::new(pool.clone()), &layers).unwrap();
        TestApp { router, pool, database_url: self.database_url.clone() }
    }

    /// Polls `check` until it holds or a second has passed; returns whether it held.
    pub async fn within_a_second<F, Fut>(&self, mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < deadline {
            if check().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

impl TestApp {
    /// The same database behind a router whose tokens may make `per_second` requests a second.
    pub fn rate_limited(&self, per_second: u32) -> TestApp {
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let state = AppState::new(self.pool.clone()).with_rate_limit(std::num::NonZeroU32::new(per_second));
        let router = http::router(state, &layers).unwrap();
        TestApp { router, pool: self.pool.clone(), database_url: self.database_url.clone() }
    }

    /// The same database behind a pool and router holding organizations to `limits`.
    pub async fn with_limits(self, limits: crm_api::domain::limits::Limits) -> TestApp {
        let pool = db::connect_with_limits(&self.database_url, 10, &limits).await.unwrap();
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let router = http::router(AppState::new(pool.clone()), &layers).unwrap();
        TestApp { router, pool, database_url: self.database_url }
    }

    /// The same database behind a router allowing each client address `per_second` failed
    /// authentications a second.
    pub fn auth_failure_limited(&self, per_second: u32) -> TestApp {
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let state = AppState::new(self.pool.clone()).with_auth_failure_limit(std::num::NonZeroU32::new(per_second));
        let router = http::router(state, &layers).unwrap();
        TestApp { router, pool: self.pool.clone(), database_url: self.database_url.clone() }
    }
}

impl TestApp {
    /// The same database behind a router with other webhook settings.
    pub fn with_webhook_settings(&self, settings: crm_api::webhooks::Settings) -> TestApp {
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let state = AppState::new(self.pool.clone()).with_webhooks(settings);
        let router = http::router(state, &layers).unwrap();
        TestApp { router, pool: self.pool.clone(), database_url: self.database_url.clone() }
    }
}

impl TestApp {
    /// The same database behind a router whose change feed has these limits.
    pub fn with_feed(&self, settings: crm_api::feed::FeedSettings) -> TestApp {
        let layers = LayerConfig {
            cors_origins: vec![],
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        };
        let router = http::router(AppState::with_feed(self.pool.clone(), settings), &layers).unwrap();
        TestApp { router, pool: self.pool.clone(), database_url: self.database_url.clone() }
    }

    /// One page of the organization's feed: `GET /v2/changes?<query>`, which must succeed.
    pub async fn changes(&self, org: &TestOrg, query: &str) -> FeedPage {
        let response = self.get(&format!("/v2/changes?{query}"), &org.token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        FeedPage {
            events: response.body["collection"].as_array().unwrap().clone(),
            next: response.body["nextCursor"].as_str().unwrap().to_owned(),
            has_more: response.body["hasMore"].as_bool().unwrap(),
        }
    }

    /// Every event after `after` (from the start when empty), following `nextCursor` with
    /// pages of `count`; returns them and the cursor to continue from.
    pub async fn all_changes(&self, org: &TestOrg, after: &str, count: u32) -> (Vec<Value>, String) {
        let mut events = Vec::new();
        let mut cursor = after.to_owned();
        loop {
            let query = match cursor.as_str() {
                "" => format!("count={count}"),
                c => format!("count={count}&after={c}"),
            };
            let page = self.changes(org, &query).await;
            events.extend(page.events);
            cursor = page.next;
            if !page.has_more {
                return (events, cursor);
            }
        }
    }

    /// The feed's head cursor now.
    pub async fn head_cursor(&self, org: &TestOrg) -> String {
        let response = self.get("/v2/changes/cursor", &org.token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.body["cursor"].as_str().unwrap().to_owned()
    }
}

/// A page of `GET /v2/changes`.
pub struct FeedPage {
    pub events: Vec<Value>,
    pub next: String,
    pub has_more: bool,
}

/// The `type` of each event.
pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}
