//! After a cardinality index refused a link (and the transaction rolled back): which links
//! stand in the way, to name them in the 409. Only on that error path, so it reads the links
//! of the records involved with the general read ([`links::for_records`]) and filters here.

use sqlx::PgConnection;
use uuid::Uuid;

use super::links::{self, LinkSide, Owner};
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
    let owner = Owner::of(attr);
    let mut conflicts = Vec::new();
    if relation.relation_type.single_here() {
        // This record already links elsewhere: (the id it wanted, what it already links to).
        let held = links::for_records(&mut *conn, organization_id, &[record_id]).await?;
        let existing: Vec<Uuid> = held.iter().filter(|l| l.belongs_to(attr)).map(|l| l.other_id).collect();
        for id in ids.iter().filter(|id| !existing.contains(id)) {
            conflicts.extend(existing.iter().map(|holder| Blocking { id: *id, holder: *holder, held_here: true }));
        }
    }
    if relation.relation_type.single_there() {
        // A requested id is already linked from another record on this side.
        let there = if owner.side == LinkSide::Source { LinkSide::Target } else { LinkSide::Source };
        let taken = links::for_records(&mut *conn, organization_id, ids).await?;
        conflicts.extend(
            taken
                .iter()
                .filter(|l| l.side == there && l.owner_id == owner.id && l.other_id != record_id)
                .map(|l| Blocking { id: l.record_id, holder: l.other_id, held_here: false }),
        );
    }
    Ok(conflicts)
}
