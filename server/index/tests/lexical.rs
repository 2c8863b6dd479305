//! The lexical index on disk: replacing a file's chunks, commit payloads, snapshots.

use scry_chunk::{ChunkOptions, chunk_file};
use scry_index::{Lexical, LexicalFilter};

fn add_file(lex: &mut Lexical, path: &str, src: &str) {
    let out = chunk_file(path, src.as_bytes(), &ChunkOptions::default());
    for c in &out.chunks {
        lex.add(0, path, "hash", out.language, c).unwrap();
    }
}

fn hits(lex: &Lexical, q: &str) -> Vec<String> {
    let snap = lex.snapshot().unwrap();
    snap.search(q, 10, &LexicalFilter::default())
        .unwrap()
        .into_iter()
        .map(|(_, a)| snap.load(a).unwrap().text)
        .collect()
}

#[test]
fn replacing_a_file_removes_its_old_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let mut lex = Lexical::open(dir.path()).unwrap();
    add_file(&mut lex, "a.rs", "fn old_marker() {}\n");
    lex.commit(1).unwrap();
    assert_eq!(hits(&lex, "old_marker").len(), 1);
    lex.delete_file(0, "a.rs");
    add_file(&mut lex, "a.rs", "fn new_marker() {}\n");
    lex.commit(2).unwrap();
    assert!(
        hits(&lex, "old_marker")
            .iter()
            .all(|t| !t.contains("old_marker"))
    );
    assert!(hits(&lex, "new_marker")[0].contains("new_marker"));
    assert_eq!(lex.committed_generation(), Some(2));
}

#[test]
fn symbol_and_path_matches_outrank_body_mentions() {
    let dir = tempfile::tempdir().unwrap();
    let mut lex = Lexical::open(dir.path()).unwrap();
    add_file(
        &mut lex,
        "src/other.rs",
        "fn unrelated() { session(); session(); session(); }\n",
    );
    add_file(&mut lex, "src/session.rs", "fn open_session() {}\n");
    lex.commit(1).unwrap();
    let top = &hits(&lex, "session")[0];
    assert!(top.contains("open_session"), "{top}");
}
