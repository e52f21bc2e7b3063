//! In-process caches of schemas and tokens, so the hot path does not spend a round trip on
//! metadata. They are kept correct across several server processes on one database by
//! LISTEN/NOTIFY (see `listener`): triggers announce every change to objects, attributes and
//! tokens, and each process forgets what changed. While the listener is not connected the
//! caches are bypassed, because notifications may be missed.

mod listener;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::db::tokens::StoredToken;
use crate::domain::schema::ObjectDef;

pub use listener::spawn_listener;

/// Most tokens kept; past it the token cache starts over (bounded memory under abuse).
const MAX_TOKENS: usize = 10_000;
/// Most unknown token ids remembered as unknown; past it that set starts over.
const MAX_UNKNOWN_TOKENS: usize = 100_000;

/// An organization's objects, shared so a lookup clones a pointer, not a schema.
pub type Schema = Arc<Vec<Arc<ObjectDef>>>;

/// Schemas by organization and active tokens by id.
#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
    /// Whether the notification listener is connected; when not, nothing is cached.
    live: AtomicBool,
}

#[derive(Default)]
struct Inner {
    schemas: HashMap<Uuid, Schema>,
    tokens: HashMap<Uuid, StoredToken>,
    /// Token ids the database does not know (or knows only as revoked), so a flood of made-up
    /// tokens costs no query each. Forgotten like tokens: a new token's id is announced too.
    unknown_tokens: HashSet<Uuid>,
    /// Bumped by every invalidation. A load that started before a bump is not stored, so a
    /// value read just before a change cannot outlive that change's notification.
    generation: u64,
}

impl Cache {
    /// An empty cache, bypassed until the listener connects.
    pub fn new() -> Arc<Cache> {
        Arc::new(Cache::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent; keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every object of the organization, from the cache or the database.
    pub async fn schema(&self, pool: &PgPool, organization_id: Uuid) -> Result<Schema, sqlx::Error> {
        let generation = {
            let inner = self.lock();
            if let (true, Some(schema)) = (self.is_live(), inner.schemas.get(&organization_id)) {
                return Ok(schema.clone());
            }
            inner.generation
        };
        let schema: Schema =
            Arc::new(db::schema::load(pool, organization_id, None).await?.into_iter().map(Arc::new).collect());
        let mut inner = self.lock();
        if self.is_live() && inner.generation == generation {
            inner.schemas.insert(organization_id, schema.clone());
        }
        Ok(schema)
    }

    /// The active token with this id, from the cache or the database. Both answers are
    /// cached, in bounded maps, so neither known nor made-up ids cost a query each.
    pub async fn token(&self, pool: &PgPool, token_id: Uuid) -> Result<Option<StoredToken>, sqlx::Error> {
        let generation = {
            let inner = self.lock();
            if self.is_live() {
                if let Some(token) = inner.tokens.get(&token_id) {
                    return Ok(Some(token.clone()));
                }
                if inner.unknown_tokens.contains(&token_id) {
                    return Ok(None);
                }
            }
            inner.generation
        };
        let token = db::tokens::find_active(pool, token_id).await?;
        let mut inner = self.lock();
        if self.is_live() && inner.generation == generation {
            match &token {
                Some(found) => {
                    if inner.tokens.len() >= MAX_TOKENS {
                        inner.tokens.clear();
                    }
                    inner.tokens.insert(token_id, found.clone());
                }
                None => {
                    if inner.unknown_tokens.len() >= MAX_UNKNOWN_TOKENS {
                        inner.unknown_tokens.clear();
                    }
                    inner.unknown_tokens.insert(token_id);
                }
            }
        }
        Ok(token)
    }

    /// Forgets an organization's schema (after a change made by this or another process).
    pub fn forget_organization(&self, organization_id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.schemas.remove(&organization_id);
    }

    /// Forgets what is known about a token id (created, revoked or deleted).
    pub fn forget_token(&self, token_id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.tokens.remove(&token_id);
        inner.unknown_tokens.remove(&token_id);
    }

    /// Forgets everything, e.g. when notifications may have been missed.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.schemas.clear();
        inner.tokens.clear();
        inner.unknown_tokens.clear();
    }

    fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    fn set_live(&self, live: bool) {
        self.clear();
        self.live.store(live, Ordering::Release);
    }
}
