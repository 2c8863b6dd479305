//! The lexical index on disk: replacing a file's chunks, commit payloads, snapshots.

use scry_chunk::{ChunkKind, ChunkOptions, chunk_file};
use scry_index::{FileHash, Lexical, LexicalFilter, SymbolCache};

fn add_file(lex: &mut Lexical, path: &str, src: &str) {
    let out = chunk_file(path, src.as_bytes(), &ChunkOptions::default());
    for c in &out.chunks {
        lex.add(0, path, FileHash::of(src.as_bytes()), out.language, c)
            .unwrap();
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

#[test]
fn definitions_are_stored_with_their_kinds_and_spans_not_guessed_from_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut lex = Lexical::open(dir.path()).unwrap();
    // Two small classes merge into one chunk; a comment mentions a class before it is
    // defined, which a guess from the text would have taken for its definition.
    let src = "# See StreamConsumedError below.\nclass ContentDecodingError(Exception):\n    pass\n\n\nclass StreamConsumedError(Exception):\n    pass\n";
    add_file(&mut lex, "exceptions.py", src);
    lex.commit(1).unwrap();
    let snap = lex.snapshot().unwrap();
    let chunks = snap.all_chunks().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].file_hash, FileHash::of(src.as_bytes()));
    let symbols = snap.symbols(&SymbolCache::default()).unwrap();
    let found: Vec<(&str, ChunkKind, u32, u32)> = symbols
        .iter()
        .map(|s| {
            let d = &s.definition;
            (
                d.name.as_str(),
                d.kind,
                d.name_span.start_line,
                d.span.end_line,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("ContentDecodingError", ChunkKind::Class, 2, 3),
            ("StreamConsumedError", ChunkKind::Class, 6, 7)
        ]
    );
    assert!(symbols.iter().all(|s| s.path == "exceptions.py"));
}
