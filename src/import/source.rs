//! The Next.js app's database as `prisma migrate` built it: its URL, its
//! models (quoted PascalCase tables, camelCase columns, `timestamp(3)` in UTC),
//! and what the source actually has of them.

use std::collections::{HashMap, HashSet};

use tokio_postgres::GenericClient;

use crate::config::DatabaseUrl;
use crate::db::connect::quote_identifier;
use crate::import::ImportError;
use Kind::{BigInt, Bool, Int, Text, TextList, Time};

/// The source's connection string and the schema its tables live in.
#[derive(Debug, Clone)]
pub struct SourceUrl {
    /// Where to connect.
    pub url: DatabaseUrl,
    /// Prisma's `?schema=` (default `public`).
    pub schema: String,
}

/// Query parameters that only Prisma understands; the driver would refuse them.
const PRISMA_ONLY_PARAMS: [&str; 6] = [
    "schema",
    "connection_limit",
    "pool_timeout",
    "pgbouncer",
    "socket_timeout",
    "statement_cache_size",
];

/// Parses Prisma's `DATABASE_URL`: its `?schema=` names the schema, and its
/// other Prisma-only parameters are dropped.
pub fn parse_url(raw: &str) -> Result<SourceUrl, String> {
    let Ok(mut url) = url::Url::parse(raw.trim()) else {
        // A libpq key=value string: no Prisma parameters to strip.
        return Ok(SourceUrl {
            url: DatabaseUrl::parse(raw)?,
            schema: "public".into(),
        });
    };
    let mut schema = "public".to_string();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, value)| {
            if key == "schema" && !value.is_empty() {
                schema = value.to_string();
            }
            !PRISMA_ONLY_PARAMS.contains(&key.as_ref())
        })
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    Ok(SourceUrl {
        url: DatabaseUrl::parse(url.as_str())?,
        schema,
    })
}

/// How a column is read, and its type in the staging table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    BigInt,
    /// Prisma's `DateTime`: `timestamp(3)` without time zone, meaning UTC.
    Time,
    TextList,
}

impl Kind {
    /// The staging column's type (also the cast on the source side, so the
    /// binary COPY formats match).
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Bool => "boolean",
            Kind::Int => "integer",
            Kind::BigInt => "bigint",
            Kind::Time => "timestamptz",
            Kind::TextList => "text[]",
        }
    }
}

/// One field of a Prisma model.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The column name Prisma gave it (the field name).
    pub column: &'static str,
    /// Its name in the staging table.
    pub staged_as: &'static str,
    pub kind: Kind,
    /// Without it a row means nothing; an optional field may be missing from
    /// an older schema and reads as NULL.
    pub required: bool,
}

const fn field(column: &'static str, staged_as: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        column,
        staged_as,
        kind,
        required,
    }
}

/// One Prisma model: its table and the fields the import reads.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// The model's (and table's) name, e.g. `User`; also the key of its
    /// mappings in `legacy_ids`.
    pub name: &'static str,
    /// The staging table that receives its rows.
    pub staging: &'static str,
    pub fields: &'static [Field],
}

/// `User`.
pub const USER: Model = Model {
    name: "User",
    staging: "src_user",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("email", "email", Text, true),
        field("name", "name", Text, false),
        field("password", "password", Text, false),
        field("verified", "verified", Bool, false),
        field("emailVerified", "email_verified", Time, false),
        field("image", "image", Text, false),
        field("currentRole", "job_role", Text, false),
        field("experienceLevel", "experience_level", Text, false),
        field("industry", "industry", Text, false),
        field("yearsOfExperience", "years_of_experience", Int, false),
        field("currentSkills", "current_skills", TextList, false),
        field("targetSkills", "target_skills", TextList, false),
        field("bio", "bio", Text, false),
        field("currentGoals", "current_goals", TextList, false),
        field("achievementScore", "achievement_score", Int, false),
        field("dailyGenerationCount", "daily_generation_count", Int, false),
        field("lastGenerationDate", "last_generation_date", Time, false),
        field("createdAt", "created_at", Time, false),
        field("updatedAt", "updated_at", Time, false),
    ],
};

/// `Goal`.
pub const GOAL: Model = Model {
    name: "Goal",
    staging: "src_goal",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("title", "title", Text, true),
        field("period", "period", Text, true),
        field("status", "status", Text, false),
        field("startDate", "start_date", Time, false),
        field("deadline", "deadline", Time, true),
        field("completedAt", "completed_at", Time, false),
        field("createdAt", "created_at", Time, false),
        field("updatedAt", "updated_at", Time, false),
    ],
};

/// `Post`.
pub const POST: Model = Model {
    name: "Post",
    staging: "src_post",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("authorId", "author_legacy", Text, true),
        field("title", "title", Text, true),
        field("content", "content", Text, true),
        field("status", "status", Text, false),
        field("createdAt", "created_at", Time, false),
        field("updatedAt", "updated_at", Time, false),
    ],
};

/// `Like`.
pub const LIKE: Model = Model {
    name: "Like",
    staging: "src_like",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("postId", "post_legacy", Text, true),
        field("createdAt", "created_at", Time, false),
    ],
};

/// `Reply`.
pub const REPLY: Model = Model {
    name: "Reply",
    staging: "src_reply",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("authorId", "author_legacy", Text, true),
        field("postId", "post_legacy", Text, true),
        field("content", "content", Text, true),
        field("createdAt", "created_at", Time, false),
        field("updatedAt", "updated_at", Time, false),
    ],
};

/// `Story`.
pub const STORY: Model = Model {
    name: "Story",
    staging: "src_story",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("period", "period", Text, true),
        field("content", "content", Text, true),
        field("createdAt", "created_at", Time, false),
        field("updatedAt", "updated_at", Time, false),
    ],
};

/// `Account` (Auth.js). Its provider tokens pass through the import process
/// to be encrypted, so it is not copied straight across.
pub const ACCOUNT: Model = Model {
    name: "Account",
    staging: "src_account",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("type", "type", Text, true),
        field("provider", "provider", Text, true),
        field("providerAccountId", "provider_account_id", Text, true),
        field("refresh_token", "refresh_token", Text, false),
        field("access_token", "access_token", Text, false),
        field("expires_at", "expires_at", BigInt, false),
        field("token_type", "token_type", Text, false),
        field("scope", "scope", Text, false),
        field("id_token", "id_token", Text, false),
        field("session_state", "session_state", Text, false),
    ],
};

/// `Session` (Auth.js).
pub const SESSION: Model = Model {
    name: "Session",
    staging: "src_session",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("sessionToken", "session_token", Text, true),
        field("expires", "expires", Time, true),
    ],
};

/// `VerificationToken` (Auth.js): no id of its own.
pub const VERIFICATION_TOKEN: Model = Model {
    name: "VerificationToken",
    staging: "src_verification_token",
    fields: &[
        field("identifier", "identifier", Text, true),
        field("token", "token", Text, true),
        field("expires", "expires", Time, true),
    ],
};

/// `PasswordReset`.
pub const PASSWORD_RESET: Model = Model {
    name: "PasswordReset",
    staging: "src_password_reset",
    fields: &[
        field("id", "legacy_id", Text, true),
        field("userId", "user_legacy", Text, true),
        field("token", "token", Text, true),
        field("expiresAt", "expires_at", Time, true),
        field("used", "used", Bool, false),
        field("createdAt", "created_at", Time, false),
    ],
};

/// Every model, parents before children.
pub const MODELS: [Model; 10] = [
    USER,
    GOAL,
    POST,
    LIKE,
    REPLY,
    STORY,
    ACCOUNT,
    SESSION,
    VERIFICATION_TOKEN,
    PASSWORD_RESET,
];

/// What the source has: each table's columns and their PostgreSQL types.
#[derive(Debug, Default)]
pub struct Layout {
    schema: String,
    columns: HashMap<String, HashMap<String, String>>,
}

impl Layout {
    /// Reads the catalog of `schema` and checks that every model that is
    /// there has its required fields; the `User` table must be there.
    pub async fn inspect(client: &impl GenericClient, schema: &str) -> Result<Self, ImportError> {
        let names: Vec<&str> = MODELS.iter().map(|model| model.name).collect();
        let rows = client
            .query(
                "SELECT table_name::text, column_name::text, data_type::text
                 FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = ANY($2)",
                &[&schema, &names],
            )
            .await
            .map_err(ImportError::source("cannot read the source's catalog"))?;
        let mut columns: HashMap<String, HashMap<String, String>> = HashMap::new();
        for row in rows {
            columns
                .entry(row.get(0))
                .or_default()
                .insert(row.get(1), row.get(2));
        }
        let layout = Self {
            schema: schema.to_owned(),
            columns,
        };
        if !layout.has(&USER) {
            return Err(ImportError::NotPrisma(format!(
                "the schema {schema} has no table \"User\" (is this the Next.js app's database? \
                 add ?schema=NAME to the URL when its tables live elsewhere)"
            )));
        }
        for model in MODELS.iter().filter(|model| layout.has(model)) {
            let present: HashSet<&str> = layout.columns[model.name]
                .keys()
                .map(String::as_str)
                .collect();
            let missing: Vec<&str> = model
                .fields
                .iter()
                .filter(|field| field.required && !present.contains(field.column))
                .map(|field| field.column)
                .collect();
            if !missing.is_empty() {
                return Err(ImportError::NotPrisma(format!(
                    "the table \"{}\" has no column {}",
                    model.name,
                    missing.join(", ")
                )));
            }
        }
        Ok(layout)
    }

    /// Whether the source has this model's table.
    pub fn has(&self, model: &Model) -> bool {
        self.columns.contains_key(model.name)
    }

    /// Whether the source's table of `model` has the column of `field`.
    pub fn has_field(&self, model: &Model, field: &Field) -> bool {
        self.columns
            .get(model.name)
            .is_some_and(|columns| columns.contains_key(field.column))
    }

    /// The SELECT that reads `model` with every field cast to its staging
    /// type: timestamps without time zone are read as UTC, missing optional
    /// fields as NULL.
    pub fn select(&self, model: &Model) -> String {
        let columns = self.columns.get(model.name);
        let expressions: Vec<String> = model
            .fields
            .iter()
            .map(|field| {
                let sql_type = field.kind.sql_type();
                match columns.and_then(|columns| columns.get(field.column)) {
                    None => format!("NULL::{sql_type}"),
                    Some(data_type) => {
                        let column = quote_identifier(field.column);
                        match (field.kind, data_type.as_str()) {
                            (Kind::Time, "timestamp without time zone" | "date") => {
                                format!("{column}::timestamp AT TIME ZONE 'UTC'")
                            }
                            _ => format!("{column}::{sql_type}"),
                        }
                    }
                }
            })
            .collect();
        format!(
            "SELECT {} FROM {}.{}",
            expressions.join(", "),
            quote_identifier(&self.schema),
            quote_identifier(model.name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prisma_urls_name_their_schema() {
        let source = parse_url(
            "postgresql://app:pw@db.example.com:5432/diary?schema=growth&connection_limit=5&sslmode=require",
        )
        .unwrap();
        assert_eq!(source.schema, "growth");
        assert_eq!(source.url.database_name(), "diary");
        assert_eq!(
            source.url.config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        let plain = parse_url("postgres://postgres@127.0.0.1/app").unwrap();
        assert_eq!(plain.schema, "public");
        assert!(parse_url("postgres://postgres@127.0.0.1").is_err());
    }

    #[test]
    fn selects_cast_every_field_and_read_timestamps_as_utc() {
        let mut layout = Layout {
            schema: "public".into(),
            ..Layout::default()
        };
        layout.columns.insert(
            "Like".into(),
            HashMap::from([
                ("id".into(), "text".into()),
                ("userId".into(), "text".into()),
                ("postId".into(), "text".into()),
                ("createdAt".into(), "timestamp without time zone".into()),
            ]),
        );
        assert_eq!(
            layout.select(&LIKE),
            "SELECT \"id\"::text, \"userId\"::text, \"postId\"::text, \
             \"createdAt\"::timestamp AT TIME ZONE 'UTC' FROM \"public\".\"Like\""
        );
        layout.columns.get_mut("Like").unwrap().remove("createdAt");
        assert!(layout.select(&LIKE).contains("NULL::timestamptz"));
    }
}
