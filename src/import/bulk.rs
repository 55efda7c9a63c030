//! Filling an empty table the way `pg_restore` does: rows first, then its
//! indexes, keys and foreign keys. A million rows inserted under a unique key,
//! two indexes and two foreign keys cost a million index insertions per index
//! and two lookups per row; built afterwards they cost one sort per index and
//! one join per foreign key.
//!
//! Only for a table that is empty when the import starts writing to it (a
//! move-in): later runs add a few rows to full tables, where rebuilding would
//! cost more than it saves. Constraints that other tables' foreign keys rest
//! on (the primary key of `users`, say) stay in place. Everything happens in
//! the import's transaction, so a failure restores them with the rollback; a
//! rebuilt constraint checks every row, so no rule is skipped. The price is a
//! lock on the table (and on the tables its foreign keys point at) until the
//! import commits.

use tokio_postgres::Transaction;

use crate::import::ImportError;

/// What was dropped from one table, as the statements that rebuild it.
#[derive(Debug)]
pub struct Deferred {
    table: &'static str,
    restore: Vec<String>,
}

/// The drop and restore statements of a table's deferrable parts, in the
/// order of rebuilding: keys and indexes first, foreign keys last, so their
/// checks can use the indexes. PostgreSQL writes the definitions.
const DEFERRABLE: &str = "
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           c.contype = 'f'
    FROM pg_constraint c
    WHERE c.conrelid = $1::text::regclass
      AND (c.contype = 'f'
           OR (c.contype IN ('p', 'u')
               AND NOT EXISTS (SELECT 1 FROM pg_constraint r
                               WHERE r.contype = 'f' AND r.conindid = c.conindid)))
    UNION ALL
    SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), false
    FROM pg_index i
    WHERE i.indrelid = $1::text::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    ORDER BY 3, 1";

/// Drops the indexes and constraints of `table` if it has no rows, and says
/// how to rebuild them; None when the table has rows (nothing is dropped).
pub async fn defer_if_empty(
    tx: &Transaction<'_>,
    table: &'static str,
) -> Result<Option<Deferred>, ImportError> {
    let failed = ImportError::target("cannot prepare a table for a bulk load");
    let empty: bool = tx
        .query_one(&format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"), &[])
        .await
        .map_err(&failed)?
        .get(0);
    if !empty {
        return Ok(None);
    }
    let parts = tx.query(DEFERRABLE, &[&table]).await.map_err(&failed)?;
    // Foreign keys go first: the keys they rest on may be dropped after them.
    let mut drops: Vec<(bool, String)> = parts
        .iter()
        .map(|row| (row.get::<_, bool>(2), row.get::<_, String>(0)))
        .collect();
    drops.sort_by_key(|(foreign, _)| !foreign);
    for (_, drop) in &drops {
        tx.batch_execute(drop).await.map_err(&failed)?;
    }
    Ok(Some(Deferred {
        table,
        restore: parts.iter().map(|row| row.get(1)).collect(),
    }))
}

/// Rebuilds what [`defer_if_empty`] dropped; every row is checked against
/// every rebuilt constraint, and a violation fails the import.
pub async fn restore(tx: &Transaction<'_>, deferred: Deferred) -> Result<(), ImportError> {
    let failed = ImportError::target("cannot rebuild the indexes and keys of a bulk-loaded table");
    // Statistics first: the foreign-key checks are planned like any join.
    tx.batch_execute(&format!("ANALYZE {}", deferred.table))
        .await
        .map_err(&failed)?;
    for statement in &deferred.restore {
        tx.batch_execute(statement).await.map_err(&failed)?;
    }
    tracing::debug!(
        table = deferred.table,
        rebuilt = deferred.restore.len(),
        "bulk load"
    );
    Ok(())
}
