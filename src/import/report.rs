//! What an import did (or, in a dry run, would do): counts per table, every
//! skipped row with its reason, warnings, and the time taken.

use std::fmt;
use std::time::Duration;

/// The counts of one Prisma model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// The Prisma model, e.g. `Post`.
    pub model: &'static str,
    /// Rows in the source.
    pub source: u64,
    /// Rows an earlier run imported (left alone).
    pub already: u64,
    /// Rows imported by this run (would be, in a dry run).
    pub imported: u64,
    /// Rows that break this server's rules, skipped whole.
    pub skipped: u64,
}

/// One row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The Prisma model.
    pub model: &'static str,
    /// The row's id in the source (a verification token: its identifier).
    pub row: String,
    /// Which rule it breaks.
    pub reason: String,
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Nothing was written.
    pub dry_run: bool,
    /// Per model, parents first.
    pub tables: Vec<TableCounts>,
    /// Every skipped row.
    pub skipped: Vec<SkippedRow>,
    /// Things imported differently than they were (dropped hashes and tokens).
    pub warnings: Vec<String>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl Report {
    /// An empty report.
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            ..Self::default()
        }
    }

    /// Records a warning (printed with the report, not logged twice).
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// The counts of `model` (zeros when it was not in the source).
    pub fn table(&self, model: &str) -> TableCounts {
        self.tables
            .iter()
            .find(|table| table.model == model)
            .cloned()
            .unwrap_or_default()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for row in &self.skipped {
            writeln!(f, "skipped {} {}: {}", row.model, row.row, row.reason)?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        let imported = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        writeln!(
            f,
            "{:<18} {:>10} {:>10} {:>12} {:>10}",
            "table", "source", "already", imported, "skipped"
        )?;
        for table in &self.tables {
            writeln!(
                f,
                "{:<18} {:>10} {:>10} {:>12} {:>10}",
                table.model, table.source, table.already, table.imported, table.skipped
            )?;
        }
        let seconds = self.elapsed.as_secs_f64();
        if self.dry_run {
            write!(f, "dry run in {seconds:.1} s: nothing was written")
        } else {
            write!(f, "imported in {seconds:.1} s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_skipped_rows_counts_and_time() {
        let report = Report {
            dry_run: true,
            tables: vec![TableCounts {
                model: "Reply",
                source: 3,
                already: 1,
                imported: 1,
                skipped: 1,
            }],
            skipped: vec![SkippedRow {
                model: "Reply",
                row: "ckreply".into(),
                reason: "its post ckpost does not exist in the source".into(),
            }],
            warnings: vec![],
            elapsed: Duration::from_millis(1500),
        };
        let printed = report.to_string();
        assert!(
            printed.starts_with(
                "skipped Reply ckreply: its post ckpost does not exist in the source\n"
            )
        );
        assert!(printed.contains("would import"));
        assert!(
            printed.contains("Reply                       3          1            1          1")
        );
        assert!(printed.ends_with("dry run in 1.5 s: nothing was written"));
    }
}
