//! The printed schema: `schema.graphql` is current, and it covers the public contract.

use std::collections::{BTreeSet, HashMap};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};

#[test]
fn schema_file_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql exists");
    let printed = growth_diary::graphql::sdl();
    assert!(
        on_disk == printed,
        "schema.graphql is stale: run `cargo run -- print-schema > schema.graphql`"
    );
}

/// Every type, field, argument and enum value of one document, as "Type.field(arg): Type" lines.
fn items(document: &ServiceDocument) -> HashMap<String, String> {
    let mut items = HashMap::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let name = ty.node.name.node.to_string();
        let kind = match &ty.node.kind {
            TypeKind::Scalar => "scalar",
            TypeKind::Object(_) => "type",
            TypeKind::Interface(_) => "interface",
            TypeKind::Union(_) => "union",
            TypeKind::Enum(_) => "enum",
            TypeKind::InputObject(_) => "input",
        };
        items.insert(name.clone(), kind.to_string());
        match &ty.node.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    let field_name = format!("{name}.{}", field.node.name.node);
                    items.insert(field_name.clone(), field.node.ty.node.to_string());
                    for arg in &field.node.arguments {
                        items.insert(
                            format!("{field_name}({})", arg.node.name.node),
                            arg.node.ty.node.to_string(),
                        );
                    }
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    items.insert(
                        format!("{name}.{}", field.node.name.node),
                        field.node.ty.node.to_string(),
                    );
                }
            }
            TypeKind::Enum(values) => {
                for value in &values.values {
                    items.insert(
                        format!("{name}.{}", value.node.value.node),
                        "value".to_string(),
                    );
                }
            }
            _ => {}
        }
    }
    items
}

#[test]
fn schema_covers_the_contract() {
    let contract = include_str!("../contract.graphql");
    let contract = items(&parse_schema(contract).expect("the contract parses"));
    let ours = items(&parse_schema(growth_diary::graphql::sdl()).expect("our SDL parses"));
    let mut missing = BTreeSet::new();
    let mut different = Vec::new();
    for (item, contract_ty) in &contract {
        match ours.get(item) {
            None => {
                missing.insert(item.as_str());
            }
            // Output fields may be stricter (non-null) than the contract; nothing else may differ.
            Some(our_ty) if our_ty != contract_ty && *our_ty != format!("{contract_ty}!") => {
                different.push(format!("{item}: contract {contract_ty}, ours {our_ty}"));
            }
            Some(_) => {}
        }
    }
    assert!(
        different.is_empty(),
        "types differ from the contract: {different:#?}"
    );
    assert!(
        missing.is_empty(),
        "contract items missing from the schema: {missing:#?}"
    );
}
