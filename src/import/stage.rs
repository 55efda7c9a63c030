//! Copying the source's rows into temporary staging tables of the target, at
//! COPY speed: the source's binary COPY output streams straight into the
//! target's COPY input. Provider tokens are the exception: they pass through
//! this process to be encrypted (or dropped without a key).

use futures_util::{SinkExt, TryStreamExt, pin_mut};
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::auth::secretbox::SecretBox;
use crate::import::ImportError;
use crate::import::report::Report;
use crate::import::source::{self, Kind, Layout, Model};

/// Creates a staging table for every model and fills those the source has.
pub async fn all(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
    layout: &Layout,
    sealer: Option<&SecretBox>,
    report: &mut Report,
) -> Result<(), ImportError> {
    for model in source::MODELS {
        create_table(target, &model).await?;
        if !layout.has(&model) {
            report.warn(format!(
                "the source has no table \"{}\": nothing to import from it",
                model.name
            ));
            continue;
        }
        if model.name == source::ACCOUNT.name {
            oauth_accounts(source, target, layout, sealer, report).await?;
        } else {
            copy_across(source, target, layout, &model).await?;
        }
        target
            .batch_execute(&format!("ANALYZE {}", model.staging))
            .await
            .map_err(ImportError::target("cannot analyze a staging table"))?;
    }
    Ok(())
}

async fn create_table(target: &Transaction<'_>, model: &Model) -> Result<(), ImportError> {
    let columns: Vec<String> = model
        .fields
        .iter()
        .map(|field| format!("{} {}", field.staged_as, field.kind.sql_type()))
        .collect();
    target
        .batch_execute(&format!(
            "CREATE TEMP TABLE {} ({}) ON COMMIT DROP",
            model.staging,
            columns.join(", ")
        ))
        .await
        .map_err(ImportError::target("cannot create a staging table"))
}

fn copy_in_statement(model: &Model) -> String {
    let columns: Vec<&str> = model.fields.iter().map(|field| field.staged_as).collect();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        model.staging,
        columns.join(", ")
    )
}

/// Streams one table across; the source's SELECT casts every column to the
/// staging table's type, so the binary rows need no conversion on the way.
async fn copy_across(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
    layout: &Layout,
    model: &Model,
) -> Result<u64, ImportError> {
    let read = format!("COPY ({}) TO STDOUT (FORMAT binary)", layout.select(model));
    let rows = source
        .copy_out(&read)
        .await
        .map_err(ImportError::source_table(model.name))?;
    let sink = target
        .copy_in(&copy_in_statement(model))
        .await
        .map_err(ImportError::target(
            "cannot start a COPY into a staging table",
        ))?;
    pin_mut!(rows, sink);
    while let Some(chunk) = rows
        .try_next()
        .await
        .map_err(ImportError::source_table(model.name))?
    {
        sink.send(chunk)
            .await
            .map_err(ImportError::target("cannot COPY into a staging table"))?;
    }
    sink.as_mut().finish().await.map_err(ImportError::target(
        "cannot finish a COPY into a staging table",
    ))
}

/// `Account` rows, with their provider tokens sealed by `ENCRYPTION_KEY`, or
/// dropped (with one warning) without it.
async fn oauth_accounts(
    source: &Transaction<'_>,
    target: &Transaction<'_>,
    layout: &Layout,
    sealer: Option<&SecretBox>,
    report: &mut Report,
) -> Result<(), ImportError> {
    let model = source::ACCOUNT;
    let rows = source
        .query(&layout.select(&model), &[])
        .await
        .map_err(ImportError::source_table(model.name))?;
    let types: Vec<Type> = model
        .fields
        .iter()
        .map(|field| match field.kind {
            Kind::BigInt => Type::INT8,
            _ => Type::TEXT,
        })
        .collect();
    let sink = target
        .copy_in(&copy_in_statement(&model))
        .await
        .map_err(ImportError::target(
            "cannot start a COPY into a staging table",
        ))?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    let mut dropped = 0usize;
    for row in rows {
        let mut dropped_here = false;
        let mut texts: Vec<Option<String>> = Vec::with_capacity(model.fields.len());
        let mut expires_at: Option<i64> = None;
        for (index, field) in model.fields.iter().enumerate() {
            match field.kind {
                Kind::BigInt => expires_at = row.get(index),
                _ => {
                    let value: Option<String> = row.get(index);
                    texts.push(if is_provider_token(field.column) {
                        protect(value, sealer, &mut dropped_here)
                    } else {
                        value
                    });
                }
            }
        }
        let mut texts = texts.iter();
        let values: Vec<&(dyn ToSql + Sync)> = model
            .fields
            .iter()
            .map(|field| match field.kind {
                Kind::BigInt => &expires_at as &(dyn ToSql + Sync),
                _ => texts
                    .next()
                    .expect("one text value was read per text field")
                    as &(dyn ToSql + Sync),
            })
            .collect();
        dropped += usize::from(dropped_here);
        writer
            .as_mut()
            .write(&values)
            .await
            .map_err(ImportError::target("cannot COPY into a staging table"))?;
    }
    writer.finish().await.map_err(ImportError::target(
        "cannot finish a COPY into a staging table",
    ))?;
    if dropped > 0 {
        report.warn(format!(
            "no ENCRYPTION_KEY: the provider tokens of {dropped} accounts were not imported \
             (signing in with the provider still works)"
        ));
    }
    Ok(())
}

/// The access, refresh and ID tokens; the rest of an account row is not secret.
fn is_provider_token(column: &str) -> bool {
    matches!(column, "access_token" | "refresh_token" | "id_token")
}

/// A provider token sealed for storage, or None (and `dropped` set) without a key.
fn protect(
    value: Option<String>,
    sealer: Option<&SecretBox>,
    dropped: &mut bool,
) -> Option<String> {
    let value = value?;
    match sealer {
        Some(sealer) => Some(sealer.seal(&value)),
        None => {
            *dropped = true;
            None
        }
    }
}
