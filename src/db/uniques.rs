//! `isUnique`: one row per (attribute, value) in `crm_unique_values`, whose primary key makes
//! concurrent writers of the same value collide in the database.

use sqlx::PgConnection;
use uuid::Uuid;

use super::records::WriteError;
use crate::domain::problem::{Problem, pointer_segment};
use crate::domain::record_input::RecordWrite;
use crate::domain::schema::AttributeDef;
use crate::domain::value;

/// Keeps `crm_unique_values` in step for the unique attributes `write` sets; values used by
/// another record are refused, every one named.
pub async fn write(
    conn: &mut PgConnection,
    org: Uuid,
    record_id: Uuid,
    write: &RecordWrite<'_>,
) -> Result<(), WriteError> {
    let unique: Vec<(&AttributeDef, Option<String>)> =
        write.scalars.iter().filter(|(a, _)| a.is_unique).map(|(a, v)| (*a, value::unique_text(v))).collect();
    if unique.is_empty() {
        return Ok(());
    }
    let attrs: Vec<Uuid> = unique.iter().map(|(a, _)| a.attribute_id).collect();
    let (set_attrs, set_values): (Vec<Uuid>, Vec<String>) =
        unique.iter().filter_map(|(a, v)| v.clone().map(|v| (a.attribute_id, v))).unzip();
    let taken = sqlx::query_scalar!(
        "select attribute_id from crm_unique_values
         where organization_id = $1 and record_id <> $2
           and (attribute_id, value) in (select * from unnest($3::uuid[], $4::text[]))",
        org,
        record_id,
        &set_attrs,
        &set_values
    )
    .fetch_all(&mut *conn)
    .await?;
    if !taken.is_empty() {
        return Err(WriteError::Invalid(unique_problems(&unique, &taken)));
    }
    sqlx::query!(
        "delete from crm_unique_values where organization_id = $1 and record_id = $2 and attribute_id = any($3)",
        org,
        record_id,
        &attrs
    )
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query!(
        "insert into crm_unique_values (organization_id, attribute_id, value, record_id)
         select $1, a, v, $2 from unnest($3::uuid[], $4::text[]) as u (a, v)",
        org,
        record_id,
        &set_attrs,
        &set_values
    )
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        // A concurrent writer claimed the value after our check.
        Err(e) if super::violates(&e, "crm_unique_values_pkey") => {
            Err(WriteError::Invalid(unique_problems(&unique, &set_attrs)))
        }
        Err(e) => Err(e.into()),
    }
}

fn unique_problems(unique: &[(&AttributeDef, Option<String>)], taken: &[Uuid]) -> Vec<Problem> {
    unique
        .iter()
        .filter(|(a, _)| taken.contains(&a.attribute_id))
        .map(|(a, v)| {
            let shown = v.as_deref().unwrap_or_default();
            let message = format!("'{}' must be unique and '{shown}' is already used by another record", a.key);
            Problem::new(format!("/{}", pointer_segment(&a.key)), "unique_violation", message)
        })
        .collect()
}
