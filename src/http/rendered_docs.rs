//! Workspace documents, rendered once per schema version and off the async workers.
//!
//! A document grows with the workspace (megabytes at the object limit) and takes long enough
//! to build that rendering it on an async worker stalled every other request on that worker,
//! `/healthz` included. So it is rendered on the blocking pool, one render at a time (so it
//! cannot take every core either), and kept until the organization's schema changes: the
//! cache hands out the rendered bytes while the schema it was rendered from is still the
//! current one (the schema cache replaces that object on every change).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use tokio::sync::{OnceCell, Semaphore};
use uuid::Uuid;

use crate::cache::Schema;

/// Most bytes of rendered documents kept; past it the cache starts over.
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// One organization's document for one schema version; concurrent requests share its render.
struct Entry {
    schema: Schema,
    rendered: Arc<OnceCell<Bytes>>,
}

/// Rendered documents by organization.
pub struct RenderedDocs {
    entries: Mutex<HashMap<Uuid, Entry>>,
    renders: Semaphore,
}

impl Default for RenderedDocs {
    fn default() -> RenderedDocs {
        RenderedDocs::new()
    }
}

impl RenderedDocs {
    /// An empty cache allowing one render at a time.
    pub fn new() -> RenderedDocs {
        RenderedDocs { entries: Mutex::default(), renders: Semaphore::new(1) }
    }

    /// The document of `organization_id` at `schema`, rendered by `render` on the blocking pool
    /// unless already rendered from this very schema.
    pub async fn get(
        &self,
        organization_id: Uuid,
        schema: Schema,
        render: fn(&Schema) -> Vec<u8>,
    ) -> Result<Bytes, String> {
        let cell = self.cell(organization_id, &schema);
        let bytes = cell
            .get_or_try_init(|| async {
                let _turn = self.renders.acquire().await.map_err(|e| e.to_string())?;
                let rendered = tokio::task::spawn_blocking(move || render(&schema)).await.map_err(|e| e.to_string())?;
                Ok::<_, String>(Bytes::from(rendered))
            })
            .await?
            .clone();
        Ok(bytes)
    }

    /// The render cell for this schema version, replacing (and uncounting) an older one; past
    /// [`MAX_CACHED_BYTES`] of rendered documents the cache starts over.
    fn cell(&self, organization_id: Uuid, schema: &Schema) -> Arc<OnceCell<Bytes>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(&organization_id).filter(|e| Arc::ptr_eq(&e.schema, schema)) {
            return entry.rendered.clone();
        }
        let size = |entries: &HashMap<Uuid, Entry>| -> usize {
            entries.values().filter_map(|e| e.rendered.get()).map(Bytes::len).sum()
        };
        entries.remove(&organization_id);
        if size(&entries) > MAX_CACHED_BYTES {
            entries.clear();
        }
        let rendered = Arc::new(OnceCell::new());
        entries.insert(organization_id, Entry { schema: schema.clone(), rendered: rendered.clone() });
        rendered
    }
}
