//! The leak corpus (every listed secret is masked) and the false-positive corpus (real
//! code, this repository included, where nothing is masked).

// Counts and skipped corpora are reported on stderr, as test output.
#![allow(clippy::print_stderr)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use scry_test_support::leak_corpus;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    ignore::WalkBuilder::new(dir)
        .hidden(false)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn every_secret_in_the_leak_corpus_is_masked() {
    let secrets = leak_corpus::secrets();
    let languages: BTreeSet<&str> = secrets
        .iter()
        .map(|(form, _)| form.split(':').next().unwrap())
        .collect();
    assert!(secrets.len() >= 40, "{} forms", secrets.len());
    assert!(languages.len() >= 8, "{languages:?}");
    let mut raw = String::new();
    let mut masked = String::new();
    for path in leak_corpus::files() {
        let bytes = std::fs::read(&path).unwrap();
        let out = scry_secrets::mask(&path.to_string_lossy(), &bytes);
        assert_eq!(out.len(), bytes.len(), "{}", path.display());
        raw.push_str(&String::from_utf8_lossy(&bytes));
        masked.push_str(&String::from_utf8_lossy(&out));
    }
    let mut leaked = Vec::new();
    for (form, secret) in &secrets {
        assert!(raw.contains(secret.as_str()), "{form}: not in the corpus");
        if masked.contains(secret.as_str()) {
            leaked.push(form.as_str());
        }
    }
    eprintln!(
        "leak corpus: {} forms, {} languages and formats, {} in clear",
        secrets.len(),
        languages.len(),
        leaked.len()
    );
    assert!(leaked.is_empty(), "returned in clear: {leaked:#?}");
}

/// Trees of real code where no secret lives: requests and cobra from the shared
/// benchmark (when this checkout sits beside it), this repository, and files full of
/// `token`, `auth` and `password` identifiers.
fn clean_trees() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut trees = vec![
        leak_corpus::dir().join("clean"),
        root.join("server"),
        root.join("editors"),
        root.join("docs"),
        root.join("scripts"),
    ];
    let shared = root.join("../shared/bench-quality/repos");
    for repo in ["requests", "cobra"] {
        if shared.join(repo).is_dir() {
            trees.push(shared.join(repo));
        } else {
            eprintln!(
                "note: {} is missing; only this repository is checked",
                shared.join(repo).display()
            );
        }
    }
    trees
}

/// Files of this repository that hold fake secrets on purpose: the leak corpus, the
/// masker's own rules and tests, and the tests that check secrets never leave the server.
fn holds_secrets_on_purpose(path: &Path) -> bool {
    const PLANTED: &[&str] = &[
        "server/secrets/tests/corpus/leaks/",
        "server/secrets/tests/corpus/secrets.tsv",
        "server/secrets/src/",
        "server/engine/tests/common.rs",
        "server/engine/tests/workspace.rs",
        "server/mcp/tests/support/mod.rs",
        "server/lsp/tests/protocol.rs",
        "server/engine/tests/secrets.rs",
        "server/mcp/tests/security.rs",
        "server/store-pg/tests/both_stores.rs",
    ];
    let p = path.to_string_lossy();
    PLANTED.iter().any(|planted| p.contains(planted))
}

#[test]
fn real_code_full_of_secret_names_is_not_masked() {
    let mut files = 0;
    let mut bytes_read = 0;
    let mut masked = Vec::new();
    for tree in clean_trees() {
        for path in files_under(&tree) {
            if holds_secrets_on_purpose(&path) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if bytes.len() > 4 << 20 || bytes.contains(&0) {
                continue;
            }
            files += 1;
            bytes_read += bytes.len();
            for r in scry_secrets::find(&path.to_string_lossy(), &bytes) {
                let line = bytes[..r.start].iter().filter(|b| **b == b'\n').count() + 1;
                masked.push(format!(
                    "{}:{line}: {}",
                    path.display(),
                    String::from_utf8_lossy(&bytes[r])
                ));
            }
        }
    }
    eprintln!(
        "false-positive corpus: {files} files, {} KB, {} masked",
        bytes_read / 1024,
        masked.len()
    );
    assert!(files > 250, "only {files} files scanned");
    assert!(
        masked.is_empty(),
        "masked in real code:\n{}",
        masked.join("\n")
    );
}
