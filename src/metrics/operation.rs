//! Bounded labels for GraphQL operations: their name and their type.
//!
//! The label names the operation a request selects in its parsed document:
//! its own name (the `operationName` parameter when given, else the name of
//! the document's single operation), `anonymous` for an unnamed operation,
//! and `other` when the request selects none (a document that does not parse,
//! an `operationName` the document does not define). Operation names are the
//! client's to choose, so a name becomes a label only when it is registered
//! ([`register_operation_names`], e.g. from the trusted documents) or learned:
//! among the first [`MAX_LEARNED_NAMES`] names of operations that were
//! executed (parsed and validated); every other name is `other`, so no client
//! can grow the label set, and requests that fail before execution teach
//! nothing.

use std::collections::HashSet;
use std::sync::{LazyLock, PoisonError, RwLock};

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};

/// Names learned without registration, first come first served.
pub const MAX_LEARNED_NAMES: usize = 100;
/// Longest name used as a label.
const MAX_NAME_LEN: usize = 64;

/// The label of operations without a name.
pub const ANONYMOUS: &str = "anonymous";
/// The label of every name outside the bounded set, and of requests that
/// select no operation.
pub const OTHER: &str = "other";
/// The type label of requests that select no operation.
pub const UNKNOWN_KIND: &str = "unknown";

#[derive(Default)]
struct Names {
    labels: HashSet<&'static str>,
    learned: usize,
}

static NAMES: LazyLock<RwLock<Names>> = LazyLock::new(RwLock::default);

/// Makes `names` labels of their own (a set bounded by construction: the
/// trusted documents' operations); from then on no other name is learned,
/// so every operation outside the manifest counts as `other`.
pub fn register_operation_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) {
    let mut known = NAMES.write().unwrap_or_else(PoisonError::into_inner);
    known.learned = MAX_LEARNED_NAMES;
    for name in names {
        let name = name.as_ref();
        if is_name(name) && !known.labels.contains(name) {
            known.labels.insert(leak(name));
        }
    }
}

/// The operation a request selects, read from its parsed document before it
/// runs; its label is settled once the outcome is known ([`Self::label`]).
#[derive(Debug)]
pub struct SelectedOperation {
    name: Name,
    kind: &'static str,
}

#[derive(Debug)]
enum Name {
    /// Already a label (or `anonymous`, `other`): nothing to learn.
    Label(&'static str),
    /// Not a label yet: learned only if the operation is executed.
    Unknown(Box<str>),
}

impl SelectedOperation {
    /// The operation `requested` (the request's `operationName`) selects in
    /// `document`, as async-graphql selects it.
    pub fn of(document: &ExecutableDocument, requested: Option<&str>) -> Self {
        let selected = match (&document.operations, requested) {
            (DocumentOperations::Single(operation), None) => Some((None, operation)),
            (DocumentOperations::Multiple(operations), Some(name)) => operations
                .get_key_value(name)
                .map(|(name, operation)| (Some(name.as_str()), operation)),
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
                .iter()
                .next()
                .map(|(name, operation)| (Some(name.as_str()), operation)),
            // An anonymous operation asked for by name, or several and no name.
            _ => None,
        };
        let Some((name, operation)) = selected else {
            return Self::none();
        };
        let kind = match operation.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        let name = match name {
            None => Name::Label(ANONYMOUS),
            Some(name) => lookup(name),
        };
        Self { name, kind }
    }

    /// A request that selects no operation (its document does not parse).
    pub fn none() -> Self {
        Self {
            name: Name::Label(OTHER),
            kind: UNKNOWN_KIND,
        }
    }

    /// The type label: `query`, `mutation`, `subscription` or `unknown`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The name label; a name outside the set is learned (while there is
    /// room) only when the operation was `executed`.
    pub fn label(self, executed: bool) -> &'static str {
        match self.name {
            Name::Label(label) => label,
            Name::Unknown(name) if executed => learn(&name),
            Name::Unknown(_) => OTHER,
        }
    }
}

/// The label of `name` when it is one already, `other` when it can never be
/// one, else a name to learn.
fn lookup(name: &str) -> Name {
    let known = NAMES.read().unwrap_or_else(PoisonError::into_inner);
    match known.labels.get(name) {
        Some(label) => Name::Label(label),
        None if known.learned >= MAX_LEARNED_NAMES || !is_name(name) => Name::Label(OTHER),
        None => Name::Unknown(name.into()),
    }
}

/// `name` as a label if there is room for one more, else `other`.
fn learn(name: &str) -> &'static str {
    let mut known = NAMES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(label) = known.labels.get(name) {
        return label;
    }
    if known.learned >= MAX_LEARNED_NAMES {
        return OTHER;
    }
    known.learned += 1;
    let label = leak(name);
    known.labels.insert(label);
    label
}

/// The bounded set keeps its names for the life of the process.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

/// A GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`) of at most [`MAX_NAME_LEN`] bytes.
fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && !bytes[0].is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(document: &str, requested: Option<&str>) -> SelectedOperation {
        let document = async_graphql::parser::parse_query(document).expect("parses");
        SelectedOperation::of(&document, requested)
    }

    #[test]
    fn the_selected_operation_names_the_labels() {
        let anonymous = select("{ me { id } }", None);
        assert_eq!(anonymous.kind(), "query");
        assert_eq!(anonymous.label(true), ANONYMOUS);
        assert_eq!(select("mutation M { signOut }", None).kind(), "mutation");
        let two =
            "query SelectedQ { me { id } } subscription SelectedS { feedPostPublished { id } }";
        assert_eq!(select(two, Some("SelectedS")).kind(), "subscription");
        let ambiguous = select(two, None);
        assert_eq!(
            (ambiguous.kind(), ambiguous.label(true)),
            (UNKNOWN_KIND, OTHER)
        );
        let unmatched = select(two, Some("SelectedNothing"));
        assert_eq!(unmatched.label(true), OTHER);
        let anonymous_by_name = select("{ me { id } }", Some("SelectedByName"));
        assert_eq!(anonymous_by_name.label(true), OTHER);
        assert_eq!(SelectedOperation::none().kind(), UNKNOWN_KIND);
    }

    // The only test that changes the process-wide set of names.
    #[test]
    fn names_are_learned_from_executed_operations_only() {
        assert_eq!(
            select("query NotRun { me { id } }", None).label(false),
            OTHER
        );
        assert!(matches!(lookup("NotRun"), Name::Unknown(_)));
        // The name of a document's single operation, without operationName.
        assert_eq!(select("query Ran { me { id } }", None).label(true), "Ran");
        // Learned, it keeps its label even when a later request fails.
        assert_eq!(select("query Ran { me { id } }", None).label(false), "Ran");
        let long = format!("query {} {{ me {{ id }} }}", "x".repeat(65));
        assert_eq!(select(&long, None).label(true), OTHER);
        for i in 0..MAX_LEARNED_NAMES {
            let _ = select(&format!("query Learned{i} {{ me {{ id }} }}"), None).label(true);
        }
        assert_eq!(
            select("query OneTooMany { me { id } }", None).label(true),
            OTHER
        );
        // A manifest's names are labels; nothing outside it is learned any more.
        register_operation_names(["RegisteredFeed"]);
        assert_eq!(
            select("query RegisteredFeed { me { id } }", None).label(false),
            "RegisteredFeed"
        );
        assert_eq!(
            select("query Unlisted { me { id } }", None).label(true),
            OTHER
        );
    }
}
