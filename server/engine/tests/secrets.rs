//! Secrets through the engine: nothing of the leak corpus leaves it in clear (stored
//! chunks, reads, packed sources, symbols), and masking never damages parsing,
//! definitions or search of real code.

// Counts and skipped corpora are reported on stderr, as test output.
#![allow(clippy::print_stderr)]

mod common;

use std::path::Path;

use common::*;
use scry_engine::{Engine, EngineConfig, SearchMode, SearchRequest, SymbolQuery};
use scry_test_support::leak_corpus;

/// The corpus files copied flat into `to`; their names.
fn copy_corpus(to: &Path) -> Vec<String> {
    leak_corpus::files()
        .into_iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&f, to.join(&name)).unwrap();
            name
        })
        .collect()
}

/// An engine that indexes everything, secret-looking file names and hidden files too,
/// so that masking inside files is all that stands between a secret and a client.
fn open_everything(root: &Path, index: &Path) -> Engine {
    let config = EngineConfig::builder([root])
        .index_dir(index)
        .include_hidden(true)
        .secret_patterns(Vec::new())
        .build();
    Engine::open(config).expect("engine opens")
}

#[test]
fn no_secret_of_the_leak_corpus_leaves_the_engine() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let names = copy_corpus(ws.path());
    let engine = open_everything(ws.path(), idx.path());
    refresh(&engine);
    assert_eq!(
        engine.status().files,
        names.len(),
        "every corpus file is indexed"
    );

    let secrets = leak_corpus::secrets();
    let mut seen = String::new();
    for name in &names {
        seen.push_str(&engine.read_file(name).unwrap().text);
    }
    let mut queries: Vec<String> = [
        "password", "token", "key", "secret", "api", "private", "auth", "url",
    ]
    .map(String::from)
    .to_vec();
    queries.extend(secrets.iter().map(|(_, s)| s.clone()));
    queries.extend(names.iter().cloned());
    let mut hits = 0;
    for q in &queries {
        let r = engine
            .search(
                &SearchRequest::new(q.as_str())
                    .k(100)
                    .mode(SearchMode::Lexical),
            )
            .unwrap();
        for h in &r.hits {
            hits += 1;
            seen.push_str(&h.text);
            seen.push_str(h.symbol.as_deref().unwrap_or(""));
            seen.push_str(h.scope.as_deref().unwrap_or(""));
            seen.push_str(&r.sources.indexed_text(&h.file).expect("unchanged"));
        }
    }
    let symbols = engine
        .symbols(&SymbolQuery {
            limit: 1000,
            ..SymbolQuery::new("")
        })
        .unwrap();
    for s in &symbols.hits {
        seen.push_str(&format!("{s:?}"));
    }
    assert!(hits > 100, "{hits} hits");
    let leaked = leak_corpus::leaked(&secrets, &seen);
    assert!(leaked.is_empty(), "returned in clear: {leaked:#?}");
}

const AUTH_PY: &str = r#"class Session:
    def rebuild_auth(self, prepared_request, response):
        """Re-applies authentication where possible."""
        new_auth = get_netrc_auth(url) if self.trust_env else None
        if new_auth is not None:
            prepared_request.prepare_auth(new_auth)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        password = "hunter2-Sess10n"
        auth_token = self.token_provider.current_token(url)
        return dict(proxies=proxies, password=password, token=auth_token)


class HTTPBasicAuth:
    def __init__(self, username, password):
        self.username = username
        self.password = password
"#;

#[test]
fn masking_a_secret_never_breaks_parsing_definitions_or_search() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), "sessions.py", AUTH_PY);
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let status = engine.status();
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    for (name, kind) in [
        ("Session", "class"),
        ("rebuild_auth", "method"),
        ("merge_environment_settings", "method"),
        ("HTTPBasicAuth", "class"),
    ] {
        let r = engine
            .symbols(&SymbolQuery {
                fuzzy: false,
                ..SymbolQuery::new(name)
            })
            .unwrap();
        let kinds: Vec<&str> = r.hits.iter().map(|h| h.definition.kind.as_str()).collect();
        assert_eq!(kinds, [kind], "{name}");
    }
    assert_eq!(found(&engine, "get_netrc_auth"), ["sessions.py"]);
    assert_eq!(found(&engine, "current_token"), ["sessions.py"]);
    let text = engine.read_file("sessions.py").unwrap().text;
    assert!(text.contains("password = \"***************\""), "{text}");
    assert!(text.contains("new_auth = get_netrc_auth(url)"), "{text}");
}

/// psf/requests, where the old masker turned `new_auth = get_netrc_auth(url)` into
/// `new_auth = **************(url)` and 8 files into parse errors.
#[test]
fn real_code_keeps_its_parse_trees_and_symbols() {
    let repo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench-quality/repos/requests");
    if !repo.is_dir() {
        eprintln!("note: {} is missing; skipped", repo.display());
        return;
    }
    let idx = tempfile::tempdir().unwrap();
    let engine = Engine::open(config(&repo, idx.path())).unwrap();
    refresh(&engine);
    let status = engine.status();
    let parse_errors: Vec<_> = status
        .problems
        .iter()
        .filter(|p| p.problems.iter().any(|m| m.starts_with("parse-errors")))
        .collect();
    assert!(parse_errors.is_empty(), "{parse_errors:?}");
    for name in [
        "Session",
        "HTTPBasicAuth",
        "merge_environment_settings",
        "send",
    ] {
        let r = engine
            .symbols(&SymbolQuery {
                fuzzy: false,
                ..SymbolQuery::new(name)
            })
            .unwrap();
        assert!(!r.hits.is_empty(), "{name}");
    }
    let callers = found(&engine, "get_netrc_auth");
    assert!(
        callers.iter().any(|p| p.ends_with("sessions.py")),
        "{callers:?}"
    );
}
