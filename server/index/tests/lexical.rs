//! The lexical index on disk: replacing a file's chunks, commit payloads, snapshots.

use scry_chunk::{ChunkKind, ChunkOptions, chunk_file};
use scry_index::{FileHash, Lexical, LexicalFilter, SymbolCache};

fn add_file(lex: &mut Lexical, path: &str, src: &str) {
    let out = chunk_file(path, src.as_bytes(), &ChunkOptions::default());
    lex.add_file(
        0,
        path,
        FileHash::of(src.as_bytes()),
        out.language,
        &out.chunks,
    )
    .unwrap();
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

/// (score, path, first line) of the top hits, scores rounded past float noise.
fn scored(lex: &Lexical, q: &str) -> Vec<(i64, String, u32)> {
    let snap = lex.snapshot().unwrap();
    snap.search(q, 20, &LexicalFilter::default())
        .unwrap()
        .into_iter()
        .map(|(s, a)| {
            let c = snap.load(a).unwrap();
            (
                (f64::from(s) * 1e4).round() as i64,
                c.path,
                c.span.start_line,
            )
        })
        .collect()
}

/// A file of `n` functions whose bodies mention `word` a varying number of times.
fn module(word: &str, n: usize, salt: usize) -> String {
    (0..n)
        .map(|i| {
            let uses = format!("{word}(x); ").repeat(1 + (i + salt) % 4);
            format!(
                "/// Handles case {i} of {salt}.\nfn {word}_case_{salt}_{i}(x: u32) -> u32 {{\n    {uses}\n    x + {i}\n}}\n\n"
            )
        })
        .collect()
}

/// Deleted chunks once still counted in BM25 (document frequencies and the average
/// length), so the same tree ranked differently after edits than from scratch.
#[test]
fn ranking_after_edits_equals_ranking_of_a_fresh_index() {
    let words = ["adapter", "session", "request", "retry", "cookie", "proxy"];
    let mut tree: std::collections::BTreeMap<String, String> = (0..18)
        .map(|i| {
            let w = words[i % words.len()];
            (format!("src/m{i}.rs"), module(w, 2 + i % 5, i))
        })
        .collect();
    let edited_dir = tempfile::tempdir().unwrap();
    let mut edited = Lexical::open(edited_dir.path()).unwrap();
    for (p, s) in &tree {
        add_file(&mut edited, p, s);
    }
    edited.commit(1).unwrap();
    // Edits over several commits: rewrite files (their old chunks become deletes),
    // remove some, add others.
    for round in 0..4usize {
        // A few files a round: segments keep live documents beside deleted ones.
        for i in (round..18).step_by(7) {
            let p = format!("src/m{i}.rs");
            edited.delete_file(0, &p);
            if (i + round) % 5 == 0 {
                tree.remove(&p);
            } else {
                let w = words[(i + round) % words.len()];
                let s = module(w, 1 + (i * round) % 6, i * 7 + round);
                add_file(&mut edited, &p, &s);
                tree.insert(p, s);
            }
        }
        edited.commit(2 + round as u64).unwrap();
    }
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = Lexical::open(fresh_dir.path()).unwrap();
    for (p, s) in &tree {
        add_file(&mut fresh, p, s);
    }
    fresh.commit(1).unwrap();
    for q in [
        "adapter",
        "session retry",
        "cookie proxy request",
        "handles case",
    ] {
        let (mut a, mut b) = (scored(&edited, q), scored(&fresh, q));
        assert!(!b.is_empty(), "{q}");
        // Equal scores may come in either order (document ids differ), so the group
        // tied at the cut may differ too: compare what ranks above it.
        for list in [&mut a, &mut b] {
            let cut = list.last().unwrap().0;
            list.retain(|x| x.0 > cut);
        }
        assert!(a.len() >= 3, "{q}: too few hits above the cut");
        a.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| (&x.1, x.2).cmp(&(&y.1, y.2))));
        b.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| (&x.1, x.2).cmp(&(&y.1, y.2))));
        assert_eq!(a, b, "{q}");
    }
}
