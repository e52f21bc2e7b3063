//! After a cardinality index refused a link (and the transaction rolled back): which links
//! stand in the way, to name them in the 409.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::attribute::RelationSide;
use crate::domain::link_problems::Blocking;
use crate::domain::schema::AttributeDef;

/// The links that stand in the way of linking `record_id` to `ids` through `attr`.
pub async fn find(
    conn: &mut PgConnection,
    organization_id: Uuid,
    record_id: Uuid,
    attr: &AttributeDef,
    ids: &[Uuid],
) -> Result<Vec<Blocking>, sqlx::Error> {
    let Some(relation) = &attr.relation else {
        return Ok(Vec::new());
    };
    let mut conflicts = Vec::new();
    let here_is_source = relation.side == RelationSide::Source;
    if relation.relation_type.single_here() {
        // This record already links elsewhere: (the id it wanted, what it already links to).
        let sql = if here_is_source {
            "select target_id from crm_record_links where organization_id = $1 and source_id = $2 and relation_id = $3"
        } else {
            "select source_id from crm_record_links where organization_id = $1 and target_id = $2 and relation_id = $3"
        };
        let existing: Vec<Uuid> = sqlx::query_scalar(sql)
            .bind(organization_id)
            .bind(record_id)
            .bind(relation.relation_id)
            .fetch_all(&mut *conn)
            .await?;
        for id in ids.iter().filter(|id| !existing.contains(id)) {
            conflicts.extend(existing.iter().map(|holder| Blocking { id: *id, holder: *holder, held_here: true }));
        }
    }
    if relation.relation_type.single_there() {
        // A requested id is already linked from another record on this side.
        let sql = if here_is_source {
            "select target_id, source_id from crm_record_links
             where organization_id = $1 and relation_id = $3 and target_id = any($4) and source_id <> $2"
        } else {
            "select source_id, target_id from crm_record_links
             where organization_id = $1 and relation_id = $3 and source_id = any($4) and target_id <> $2"
        };
        let taken: Vec<(Uuid, Uuid)> = sqlx::query_as(sql)
            .bind(organization_id)
            .bind(record_id)
            .bind(relation.relation_id)
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
        conflicts.extend(taken.into_iter().map(|(id, holder)| Blocking { id, holder, held_here: false }));
    }
    Ok(conflicts)
}
