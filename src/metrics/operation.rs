//! Bounded labels for GraphQL operations: their name and their type.
//!
//! Operation names are the client's to choose, so a name becomes a label
//! only when it is registered ([`register_operation_names`], e.g. from the
//! trusted documents) or among the first [`MAX_LEARNED_NAMES`] valid names
//! seen; every other name is `other`, so no client can grow the label set.

use std::collections::HashSet;
use std::sync::{LazyLock, PoisonError, RwLock};

/// Names accepted without registration, first come first served.
pub const MAX_LEARNED_NAMES: usize = 100;
/// Longest name used as a label.
const MAX_NAME_LEN: usize = 64;

/// The label of operations without a name.
pub const ANONYMOUS: &str = "anonymous";
/// The label of every name outside the bounded set.
pub const OTHER: &str = "other";

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

/// The label of an operation named `name`: the name itself when it is in the
/// bounded set (registered, or learned while there was room), else `other`.
pub fn operation_label(name: Option<&str>) -> &'static str {
    let Some(name) = name else {
        return ANONYMOUS;
    };
    if let Some(label) = NAMES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .labels
        .get(name)
    {
        return label;
    }
    if !is_name(name) {
        return OTHER;
    }
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

/// The type of the operation `name` selects in `document` (`query`,
/// `mutation`, `subscription`), or `unknown` when it cannot tell.
///
/// A scan of the document's top level, not a parse: async-graphql parses the
/// document once to run it, and this label should not cost a second parse.
pub fn operation_kind(document: &str, name: Option<&str>) -> &'static str {
    let mut tokens = TopLevel::new(document);
    while let Some(token) = tokens.next() {
        match token {
            // `{ ... }` at the top level: the query shorthand.
            Token::Brace if name.is_none() => return "query",
            Token::Name(word) => {
                let kind = match word {
                    "query" => "query",
                    "mutation" => "mutation",
                    "subscription" => "subscription",
                    "fragment" => {
                        tokens.skip_to_brace();
                        continue;
                    }
                    _ => continue,
                };
                match name {
                    None => return kind,
                    Some(wanted) => {
                        if let Some(Token::Name(found)) = tokens.next()
                            && found == wanted
                        {
                            return kind;
                        }
                    }
                }
            }
            Token::Brace => {}
        }
    }
    "unknown"
}

/// What the scan sees outside every `{}` and `()`.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Name(&'a str),
    /// An opening brace at the top level (its block is skipped).
    Brace,
}

/// Top-level tokens of a document: strings, comments and nested blocks skipped.
struct TopLevel<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> TopLevel<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.text.as_bytes();
        let mut depth = 0usize;
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b'#' => self.skip_comment(),
                b'"' => self.skip_string(),
                b'{' | b'(' => {
                    self.at += 1;
                    if depth == 0 && byte == b'{' {
                        self.skip_block(1);
                        return Some(Token::Brace);
                    }
                    depth += 1;
                }
                b'}' | b')' => {
                    self.at += 1;
                    depth = depth.saturating_sub(1);
                }
                b'@' => {
                    // A directive's name is not a keyword.
                    self.at += 1;
                    self.take_name();
                }
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    let word = self.take_name();
                    if depth == 0 {
                        return Some(Token::Name(word));
                    }
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// Skips past the next top-level block (a fragment's body).
    fn skip_to_brace(&mut self) {
        while let Some(token) = self.next() {
            if token == Token::Brace {
                return;
            }
        }
    }

    /// Skips to the end of a block whose `depth` openings were read.
    fn skip_block(&mut self, mut depth: usize) {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b'#' => self.skip_comment(),
                b'"' => self.skip_string(),
                b'{' | b'(' => {
                    depth += 1;
                    self.at += 1;
                }
                b'}' | b')' => {
                    depth -= 1;
                    self.at += 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    fn take_name(&mut self) -> &'a str {
        let bytes = self.text.as_bytes();
        let start = self.at;
        while bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.at += 1;
        }
        // Both ends sit on ASCII bytes, so they are character boundaries.
        self.text.get(start..self.at).unwrap_or_default()
    }

    fn skip_comment(&mut self) {
        let bytes = self.text.as_bytes();
        while bytes
            .get(self.at)
            .is_some_and(|b| *b != b'\n' && *b != b'\r')
        {
            self.at += 1;
        }
    }

    /// Skips a string or block string starting at the current `"`.
    fn skip_string(&mut self) {
        let rest = &self.text.as_bytes()[self.at..];
        if rest.starts_with(b"\"\"\"") {
            self.at += 3;
            while self.at < self.text.len() {
                let rest = &self.text.as_bytes()[self.at..];
                if rest.starts_with(b"\\\"\"\"") {
                    self.at += 4;
                } else if rest.starts_with(b"\"\"\"") {
                    self.at += 3;
                    return;
                } else {
                    self.at += 1;
                }
            }
            return;
        }
        self.at += 1;
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'"' | b'\n' => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_from_the_top_level() {
        assert_eq!(operation_kind("{ me { id } }", None), "query");
        assert_eq!(operation_kind("query { me { id } }", None), "query");
        assert_eq!(
            operation_kind("mutation M($a: String = \"}{\") { signOut }", None),
            "mutation"
        );
        assert_eq!(
            operation_kind("subscription S { feedPostPublished { id } }", Some("S")),
            "subscription"
        );
        let two = "# mutation\nquery Q @cached { me { id } }\n\
                   fragment F on mutation { id }\n\
                   mutation M { signOut }";
        assert_eq!(operation_kind(two, Some("Q")), "query");
        assert_eq!(operation_kind(two, Some("M")), "mutation");
        assert_eq!(operation_kind(two, Some("F")), "unknown");
        assert_eq!(
            operation_kind(
                "query Q(\"\"\"mutation { \\\"\"\" x\"\"\") { a } mutation M { b }",
                Some("M")
            ),
            "mutation"
        );
        assert_eq!(operation_kind("", None), "unknown");
        assert_eq!(operation_kind("not graphql at all", None), "unknown");
        assert_eq!(operation_kind("{ unclosed", Some("X")), "unknown");
        assert_eq!(operation_kind("é { a }", None), "query");
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(operation_label(None), ANONYMOUS);
        assert_eq!(operation_label(Some("not a name")), OTHER);
        assert_eq!(operation_label(Some(&"x".repeat(65))), OTHER);
        for i in 0..MAX_LEARNED_NAMES {
            let _ = operation_label(Some(&format!("Learned{i}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), OTHER);
        assert_eq!(operation_label(Some("Learned0")), "Learned0");
        // A manifest's names are labels; nothing outside it is learned any more.
        register_operation_names(["RegisteredFeed"]);
        assert_eq!(operation_label(Some("RegisteredFeed")), "RegisteredFeed");
        assert_eq!(operation_label(Some("Unlisted")), OTHER);
    }
}
