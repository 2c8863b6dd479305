//! docs/lsp-protocol.md and the wire types in src/protocol.rs say the same thing: every
//! `scry/*` request has its section, the capabilities list them all, and every field of
//! every parameter and result type is named in its request's section (rust-analyzer
//! keeps `lsp/ext.rs` and its document in step the same way).

use std::collections::{BTreeMap, BTreeSet};

const PROTOCOL: &str = include_str!("../src/protocol.rs");
const DOC: &str = include_str!("../../../docs/lsp-protocol.md");

/// Which section of the document specifies each wire type.
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "`scry/search`",
        &[
            "SearchParams",
            "SearchResult",
            "SearchHit",
            "SearchFile",
            "Provenance",
            "DefinitionOut",
        ],
    ),
    (
        "`scry/context`",
        &["ContextParams", "ContextResult", "Source"],
    ),
    ("`scry/ask`", &["AskParams", "AskPartial", "AskResult"]),
    (
        "`scry/status`",
        &["StatusResult", "ProblemFile", "VectorTiers", "VectorTier"],
    ),
    ("`workspace/executeCommand`", &["ReindexResult"]),
];

/// Each `pub struct` of protocol.rs with the wire names of its fields.
fn wire_types() -> BTreeMap<String, Vec<String>> {
    let mut types = BTreeMap::new();
    let mut attrs: Vec<&str> = Vec::new();
    let mut current: Option<(String, bool, Vec<String>)> = None;
    for line in PROTOCOL.lines() {
        let t = line.trim();
        if let Some((name, camel, fields)) = &mut current {
            if t == "}" {
                types.insert(name.clone(), std::mem::take(fields));
                current = None;
            } else if let Some(rest) = t.strip_prefix("pub ")
                && let Some((field, _)) = rest.split_once(':')
            {
                let renamed = attrs
                    .iter()
                    .find_map(|a| a.split_once("rename = \"").map(|(_, r)| r))
                    .and_then(|r| r.split('"').next());
                fields.push(match renamed {
                    Some(r) => r.to_owned(),
                    None if *camel => camel_case(field),
                    None => field.to_owned(),
                });
                attrs.clear();
            } else if t.starts_with("#[") {
                attrs.push(t);
            }
            continue;
        }
        if t.starts_with("#[") {
            attrs.push(t);
        } else if let Some(rest) = t.strip_prefix("pub struct ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let camel = attrs
                .iter()
                .any(|a| a.contains("rename_all = \"camelCase\""));
            current = Some((name, camel, Vec::new()));
            attrs.clear();
        } else if !t.starts_with("///") {
            attrs.clear();
        }
    }
    types
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The string constants of protocol.rs (method and command names).
fn constants() -> BTreeSet<String> {
    PROTOCOL
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split('"').nth(1))
        .filter(|v| !v.starts_with("scry/_"))
        .map(str::to_owned)
        .collect()
}

/// The document's `## ` sections: title → text.
fn sections() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut title = String::new();
    let mut body = String::new();
    for line in DOC.lines() {
        if let Some(t) = line.strip_prefix("## ") {
            out.insert(std::mem::take(&mut title), std::mem::take(&mut body));
            title = t.trim().to_owned();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.insert(title, body);
    out
}

#[test]
fn every_field_of_every_wire_type_is_named_in_its_requests_section() {
    let types = wire_types();
    let sections = sections();
    assert!(types.len() >= 10, "protocol.rs was not read: {types:?}");
    let mapped: BTreeSet<&str> = SECTIONS
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    for name in types.keys() {
        assert!(
            mapped.contains(name.as_str()),
            "protocol.rs has `{name}`, which no section of docs/lsp-protocol.md is checked \
             against: document it and add it to SECTIONS"
        );
    }
    let mut missing = Vec::new();
    for (title, names) in SECTIONS {
        let text = sections
            .get(*title)
            .unwrap_or_else(|| panic!("docs/lsp-protocol.md has no section ## {title}"));
        for name in *names {
            let fields = types
                .get(*name)
                .unwrap_or_else(|| panic!("protocol.rs has no struct {name}"));
            for f in fields {
                if !text.contains(&format!("`{f}`")) && !text.contains(&format!("\"{f}\"")) {
                    missing.push(format!("{title}: {name}.{f}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields docs/lsp-protocol.md does not name: {missing:#?}"
    );
}

#[test]
fn every_request_and_command_is_specified_and_advertised() {
    let consts = constants();
    let sections = sections();
    let methods: BTreeSet<&str> = consts
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with("scry/"))
        .collect();
    let documented: BTreeSet<&str> = sections
        .keys()
        .filter_map(|t| t.strip_prefix('`')?.strip_suffix('`'))
        .filter(|t| t.starts_with("scry/"))
        .collect();
    assert_eq!(methods, documented, "scry/* requests vs. their sections");
    // The capabilities block lists exactly the requests served.
    let caps = sections
        .get("Server capabilities")
        .expect("a capabilities section");
    let listed: BTreeSet<&str> = caps
        .split("\"scryRequests\": [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .expect("scryRequests in the capabilities")
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .collect();
    assert_eq!(
        methods, listed,
        "scry/* requests vs. experimental.scryRequests"
    );
    let commands = sections
        .get("`workspace/executeCommand`")
        .expect("an executeCommand section");
    for c in consts.iter().filter(|c| c.starts_with("scry.")) {
        assert!(
            commands.contains(&format!("`{c}`")) && caps.contains(&format!("\"{c}\"")),
            "the command {c} is not specified or not advertised"
        );
    }
}
