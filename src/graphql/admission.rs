//! Checks a request must pass before it is executed: the number of aliases,
//! and every string and list a client sent: literals in arguments and
//! directives, variables, and the default values the document gives its
//! variables (those come from the client too, and async-graphql uses them
//! without any check of ours when a variable is not supplied).
//!
//! They run once per request on the parsed document (which async-graphql then
//! reuses), not as a schema extension: an extension would also wrap the
//! resolution of every field. Each variable, default and fragment is inspected
//! once, so the work is linear in the size of the request.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Request, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::error::AppError;
use crate::graphql::limits::{MAX_ALIASES, MAX_LIST_ITEMS};

/// Inspects `request` (parsing its document, which execution then reuses).
/// A document that does not parse passes: execution reports the syntax error.
pub fn check(request: &mut Request) -> Result<(), AppError> {
    let variables = std::mem::take(&mut request.variables);
    let outcome = match request.parsed_query() {
        Ok(document) => check_document(document, &variables),
        Err(_) => Ok(()),
    };
    request.variables = variables;
    outcome
}

fn check_document(document: &ExecutableDocument, variables: &Variables) -> Result<(), AppError> {
    let aliases = count_aliases(document);
    if aliases > MAX_ALIASES {
        return Err(AppError::bad_input(
            "query",
            format!("the document has {aliases} aliases; at most {MAX_ALIASES} are allowed"),
        ));
    }
    let mut inputs = Inputs {
        variables,
        seen: HashSet::new(),
        defaults: defaults(document),
    };
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        inputs.directives(&operation.directives)?;
        for definition in &operation.variable_definitions {
            inputs.directives(&definition.node.directives)?;
        }
        inputs.selection_set(&operation.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        inputs.directives(&fragment.node.directives)?;
        inputs.selection_set(&fragment.node.selection_set.node)?;
    }
    // Variables no argument uses are still parsed and coerced, and defaults
    // no argument reached are still the client's text: check them too.
    for (name, value) in variables.iter() {
        if !inputs.seen.contains(name) {
            check_const(value, name.as_str())?;
        }
    }
    for (name, values) in &inputs.defaults {
        for value in values {
            check_const(value, name.as_str())?;
        }
    }
    Ok(())
}

/// The default value of every variable of every operation, by name (two
/// operations may give one name different defaults).
fn defaults(document: &ExecutableDocument) -> HashMap<&Name, Vec<&ConstValue>> {
    let mut defaults: HashMap<&Name, Vec<&ConstValue>> = HashMap::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(value) = &definition.node.default_value {
                defaults
                    .entry(&definition.node.name.node)
                    .or_default()
                    .push(&value.node);
            }
        }
    }
    defaults
}

/// The top-level selection sets of every operation and fragment.
fn selection_sets(document: &ExecutableDocument) -> impl Iterator<Item = &SelectionSet> {
    let operations = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    operations.chain(fragments)
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    fn count_in(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some())
                        + count_in(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => count_in(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    selection_sets(document).map(count_in).sum()
}

/// Walks the arguments of a document, following each variable once.
struct Inputs<'a> {
    variables: &'a Variables,
    seen: HashSet<&'a Name>,
    /// Defaults not checked yet: taken out when an argument first uses their variable.
    defaults: HashMap<&'a Name, Vec<&'a ConstValue>>,
}

impl<'a> Inputs<'a> {
    fn selection_set(&mut self, set: &SelectionSet) -> Result<(), AppError> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        self.value(&value.node, name.node.as_str())?;
                    }
                    self.directives(&field.node.directives)?;
                    self.selection_set(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.directives(&fragment.node.directives)?;
                    self.selection_set(&fragment.node.selection_set.node)?;
                }
                // Fragment definitions are walked on their own, once.
                Selection::FragmentSpread(spread) => self.directives(&spread.node.directives)?,
            }
        }
        Ok(())
    }

    /// Checks the arguments of `directives` (validation refuses unknown ones,
    /// but only after this walk: their arguments must not cost more first).
    fn directives(&mut self, directives: &[Positioned<Directive>]) -> Result<(), AppError> {
        for directive in directives {
            for (name, value) in &directive.node.arguments {
                self.value(&value.node, name.node.as_str())?;
            }
        }
        Ok(())
    }

    /// Checks a literal argument value; `field` names the innermost argument
    /// or input field around it.
    fn value(&mut self, value: &Value, field: &str) -> Result<(), AppError> {
        match value {
            Value::Variable(name) => {
                if let Some((name, value)) = self.variables.get_key_value(name) {
                    if self.seen.insert(name) {
                        check_const(value, field)?;
                    }
                } else if let Some(defaults) = self.defaults.remove(name) {
                    // Not supplied: the default is the value the argument gets.
                    defaults
                        .into_iter()
                        .try_for_each(|value| check_const(value, field))?;
                }
                Ok(())
            }
            Value::String(text) => check_text(text, field),
            Value::List(items) => {
                check_list_len(items.len(), field)?;
                items.iter().try_for_each(|item| self.value(item, field))
            }
            Value::Object(fields) => fields
                .iter()
                .try_for_each(|(name, value)| self.value(value, name.as_str())),
            _ => Ok(()),
        }
    }
}

/// Checks a variable's value, like [`Inputs::value`] does a literal.
fn check_const(value: &ConstValue, field: &str) -> Result<(), AppError> {
    match value {
        ConstValue::String(text) => check_text(text, field),
        ConstValue::List(items) => {
            check_list_len(items.len(), field)?;
            items.iter().try_for_each(|item| check_const(item, field))
        }
        ConstValue::Object(fields) => fields
            .iter()
            .try_for_each(|(name, value)| check_const(value, name.as_str())),
        _ => Ok(()),
    }
}

/// PostgreSQL `text` cannot hold NUL. Unpaired surrogates cannot reach here as
/// themselves (Rust strings cannot hold them): the HTTP layer turns their JSON
/// escapes into NUL (see [`crate::graphql::admission::mask_lone_surrogates`])
/// so that they are refused here, naming the field.
fn check_text(text: &str, field: &str) -> Result<(), AppError> {
    if text.contains('\0') {
        return Err(AppError::bad_input(
            field.to_owned(),
            "must not contain NUL characters or unpaired surrogates",
        ));
    }
    Ok(())
}

fn check_list_len(len: usize, field: &str) -> Result<(), AppError> {
    if len > MAX_LIST_ITEMS {
        return Err(AppError::bad_input(
            field.to_owned(),
            format!("lists may hold at most {MAX_LIST_ITEMS} entries"),
        ));
    }
    Ok(())
}

/// Rewrites every `\uXXXX` escape of an unpaired UTF-16 surrogate in a JSON
/// text into `\u0000` (same length), so the body parses and the string is then
/// refused by name by [`check`]. A JSON parser would otherwise reject the whole
/// body without saying which field was at fault. Linear in the body's length.
pub fn mask_lone_surrogates(body: &mut [u8]) {
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            i += 1;
            continue;
        }
        match surrogate_at(body, i + 1) {
            Some(Surrogate::High) if surrogate_at(body, i + 7) == Some(Surrogate::Low) => {
                i += 12;
            }
            Some(_) => {
                body[i + 2..i + 6].copy_from_slice(b"0000");
                i += 6;
            }
            // Any other escape: skip the backslash and the escaped byte.
            None => i += 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surrogate {
    High,
    Low,
}

/// The kind of surrogate a `uXXXX` escape body at `at` (just after its
/// backslash) encodes, if it is one.
fn surrogate_at(body: &[u8], at: usize) -> Option<Surrogate> {
    let escape = body.get(at..at + 5)?;
    if escape[0] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[1..]).ok()?;
    match u16::from_str_radix(hex, 16).ok()? {
        0xD800..=0xDBFF => Some(Surrogate::High),
        0xDC00..=0xDFFF => Some(Surrogate::Low),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(query: &str, variables: serde_json::Value) -> Option<String> {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        match check(&mut request) {
            Ok(()) => None,
            Err(AppError::BadUserInput { field, .. }) => Some(field.into_owned()),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn aliases_are_counted_in_operations_and_fragments() {
        let doc = async_graphql::parser::parse_query(
            "query { a: me { id } b: me { x: id ...F } } fragment F on User { y: name }",
        )
        .expect("parses");
        assert_eq!(count_aliases(&doc), 4);
    }

    #[test]
    fn nul_is_refused_naming_the_innermost_field() {
        let query = "mutation($input: CreatePostInput!) { createPost(input: $input) { id } }";
        let vars = serde_json::json!({ "input": { "title": "a\u{0}b", "content": "x" } });
        assert_eq!(field_of(query, vars).as_deref(), Some("title"));
        let literal =
            r#"mutation { signIn(input: { email: "a\u0000@b.c", password: "x" }) { token } }"#;
        assert_eq!(
            field_of(literal, serde_json::json!({})).as_deref(),
            Some("email")
        );
        let list = "mutation($s: [String!]) { updateProfile(input: { currentSkills: $s }) { id } }";
        let vars = serde_json::json!({ "s": ["ok", "bad\u{0}"] });
        assert_eq!(field_of(list, vars).as_deref(), Some("currentSkills"));
        let unused = "query($x: String) { me { id } }";
        let vars = serde_json::json!({ "x": "\u{0}" });
        assert_eq!(field_of(unused, vars).as_deref(), Some("x"));
        assert_eq!(field_of("{ me { id } }", serde_json::json!({})), None);
    }

    #[test]
    fn long_lists_are_refused_before_their_entries_are_read() {
        let query = "mutation($s: [String!]) { updateProfile(input: { targetSkills: $s }) { id } }";
        let vars = serde_json::json!({ "s": vec!["x"; MAX_LIST_ITEMS + 1] });
        assert_eq!(field_of(query, vars).as_deref(), Some("targetSkills"));
        let vars = serde_json::json!({ "s": vec!["x"; MAX_LIST_ITEMS] });
        assert_eq!(field_of(query, vars), None);
    }

    #[test]
    fn defaults_and_directives_are_checked_like_supplied_values() {
        let none = serde_json::json!({});
        let used = r#"mutation($c: String! = "a\u0000b") { createReply(postId: "p", content: $c) { id } }"#;
        assert_eq!(field_of(used, none.clone()).as_deref(), Some("content"));
        // Supplied, the variable's default is unused, but still the client's text.
        let supplied = serde_json::json!({ "c": "fine" });
        assert_eq!(field_of(used, supplied).as_deref(), Some("c"));
        let unused = r#"query($x: String = "\u0000") { me { id } }"#;
        assert_eq!(field_of(unused, none.clone()).as_deref(), Some("x"));
        let nested = r#"mutation($i: CreatePostInput! = { title: "t", content: ["\u0000"] }) { createPost(input: $i) { id } }"#;
        assert_eq!(field_of(nested, none.clone()).as_deref(), Some("content"));
        let in_fragment =
            r#"query($p: ID = "\u0000") { ...F } fragment F on Query { post(id: $p) { id } }"#;
        assert_eq!(field_of(in_fragment, none.clone()).as_deref(), Some("id"));
        let directive = r#"{ me @include(if: "\u0000") { id } }"#;
        assert_eq!(field_of(directive, none.clone()).as_deref(), Some("if"));
        let entries = vec![r#""x""#; MAX_LIST_ITEMS + 1].join(",");
        let long = format!(
            "mutation($s: [String!] = [{entries}]) {{ updateProfile(input: {{ targetSkills: $s }}) {{ id }} }}"
        );
        assert_eq!(
            field_of(&long, none.clone()).as_deref(),
            Some("targetSkills")
        );
        let fine = r#"query($first: Int = 5, $x: String = "ok") { feed(first: $first) { edges { cursor } } }"#;
        assert_eq!(field_of(fine, none), None);
    }

    #[test]
    fn lone_surrogate_escapes_become_nul() {
        let mut body =
            br#"{"a":"x\ud800y","b":"\ud83d\ude00","c":"\\ud800","d":"\udc00"}"#.to_vec();
        mask_lone_surrogates(&mut body);
        let value: serde_json::Value = serde_json::from_slice(&body).expect("now parses");
        assert_eq!(value["a"], "x\u{0}y");
        assert_eq!(value["b"], "\u{1F600}");
        assert_eq!(value["c"], "\\ud800");
        assert_eq!(value["d"], "\u{0}");
    }
}
