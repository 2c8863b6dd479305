//! Corruption is detected and rebuilt; interrupted commits leave one generation; the index
//! after any sequence of changes equals a from-scratch index of the same tree.

mod common;

use std::path::Path;

use common::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use scry_engine::SearchMode;

fn vector_file(idx: &Path) -> std::path::PathBuf {
    std::fs::read_dir(idx.join("vectors"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "usearch"))
        .expect("a vector file")
}

#[test]
fn a_flipped_byte_in_the_vector_file_is_detected_and_vectors_rebuilt() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let model = Counting::load();
    {
        let engine = open_with(ws.path(), idx.path(), &model);
        refresh(&engine);
    }
    let vf = vector_file(idx.path());
    let mut bytes = std::fs::read(&vf).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&vf, &bytes).unwrap();

    let model2 = Counting::load();
    let engine = open_with(ws.path(), idx.path(), &model2);
    let notices = engine.status().notices.join("\n");
    assert!(notices.contains("checksum"), "{notices}");
    let r = refresh(&engine);
    assert_eq!(r.files_indexed, 0, "the lexical index was fine and is kept");
    assert!(model2.texts() > 0, "vectors were recomputed");
    assert!(engine.vectors_consistent());
    assert_eq!(
        paths(
            &engine,
            "sum the cost of products in a basket",
            SearchMode::Vector
        )[0],
        "web/cart.ts"
    );
}

#[test]
fn a_truncated_vector_file_and_a_damaged_manifest_are_rebuilt() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    {
        let engine = open_lexical(ws.path(), idx.path());
        refresh(&engine);
    }
    // Manifest: flip a digit inside the JSON (still parses; the checksum catches it).
    let mf = idx.path().join("manifest.json");
    let text = std::fs::read_to_string(&mf).unwrap();
    let damaged = text.replacen("\"generation\":", "\"generation\":9", 1);
    std::fs::write(&mf, damaged).unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    assert!(
        engine
            .status()
            .notices
            .iter()
            .any(|n| n.contains("manifest")),
        "{:?}",
        engine.status().notices
    );
    let r = refresh(&engine);
    assert!(r.files_indexed > 0, "rebuilt from the workspace");
    assert_eq!(found(&engine, "cartTotal")[0], "web/cart.ts");
    drop(engine);

    // Truncated manifest.
    let bytes = std::fs::read(&mf).unwrap();
    std::fs::write(&mf, &bytes[..bytes.len() / 2]).unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    assert_eq!(found(&engine, "cartTotal")[0], "web/cart.ts");
}

#[test]
fn a_damaged_tantivy_segment_is_detected_and_the_lexical_index_rebuilt() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    {
        let engine = open_lexical(ws.path(), idx.path());
        refresh(&engine);
    }
    let seg = std::fs::read_dir(idx.path().join("lexical"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "idx" || e == "store" || e == "term")
        })
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a segment file");
    let mut bytes = std::fs::read(&seg).unwrap();
    let i = bytes.len() / 3;
    bytes[i] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    assert!(!engine.status().notices.is_empty());
    refresh(&engine);
    assert_eq!(found(&engine, "cartTotal")[0], "web/cart.ts");
}

#[test]
fn a_lexical_commit_without_its_manifest_is_rolled_into_a_rebuild() {
    // Simulates a crash between the tantivy commit and the manifest rename: the
    // manifest of the previous generation is put back.
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let old_manifest = std::fs::read(idx.path().join("manifest.json")).unwrap();
    write(ws.path(), "src/extra.rs", "fn crash_window_marker() {}\n");
    refresh(&engine);
    drop(engine);
    std::fs::write(idx.path().join("manifest.json"), old_manifest).unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    assert!(
        engine
            .status()
            .notices
            .iter()
            .any(|n| n.contains("interrupted")),
        "{:?}",
        engine.status().notices
    );
    refresh(&engine);
    assert_eq!(found(&engine, "crash_window_marker"), ["src/extra.rs"]);
    assert_eq!(found(&engine, "cartTotal")[0], "web/cart.ts");
}

/// Random creates, edits, renames and deletes, refreshed in random groups; then the
/// index must equal a from-scratch index of the final tree, chunk for chunk, and the
/// vector index must hold exactly the live chunks.
#[test]
fn incremental_equals_full_after_random_changes() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    fixture(root);
    let model = Counting::load();
    let engine = open_with(root, idx.path(), &model);
    refresh(&engine);
    let mut rng = StdRng::seed_from_u64(0x5c_2a);
    let words = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "sigma"];
    let mut files: Vec<String> = vec![
        "src/config.rs".into(),
        "web/cart.ts".into(),
        "app/session.py".into(),
    ];
    for step in 0..60 {
        match rng.random_range(0..5) {
            0 | 1 => {
                let name = format!(
                    "gen/f{}.{}",
                    rng.random_range(0..12),
                    ["rs", "py", "ts", "md"][rng.random_range(0..4)]
                );
                let w = words[rng.random_range(0..words.len())];
                let body = match name.rsplit('.').next().unwrap() {
                    "rs" => format!(
                        "/// {w} doc.\nfn {w}_{step}() -> u32 {{ {step} }}\n\nstruct S{step};\n"
                    ),
                    "py" => format!("def {w}_{step}():\n    return {step}\n"),
                    "ts" => format!("export function {w}{step}(): number {{ return {step}; }}\n"),
                    _ => format!("# {w}\n\nstep {step}\n\n## more\n\n{w} again\n"),
                };
                write(root, &name, &body);
                if !files.contains(&name) {
                    files.push(name);
                }
            }
            2 if !files.is_empty() => {
                let i = rng.random_range(0..files.len());
                let from = files.remove(i);
                let to = format!("moved/{step}_{}", from.rsplit('/').next().unwrap());
                std::fs::create_dir_all(root.join("moved")).unwrap();
                std::fs::rename(root.join(&from), root.join(&to)).unwrap();
                files.push(to);
            }
            3 if !files.is_empty() => {
                let i = rng.random_range(0..files.len());
                std::fs::remove_file(root.join(files.remove(i))).unwrap();
            }
            _ => {
                // Same size, new content: caught even if the mtime tick did not move.
                if let Some(f) = files.first() {
                    let t = std::fs::read_to_string(root.join(f)).unwrap();
                    write(root, f, &t.replace('a', "e"));
                }
            }
        }
        if rng.random_bool(0.4) {
            refresh(&engine);
        }
    }
    // A file rewritten within one mtime tick is caught when the watcher names it.
    let force = files
        .iter()
        .map(|f| root.join(f).canonicalize().unwrap())
        .collect();
    engine.refresh(&force, &mut |_| {}).unwrap();
    let incremental = engine.chunk_inventory().unwrap();
    assert!(engine.vectors_consistent());
    drop(engine);

    let idx2 = tempfile::tempdir().unwrap();
    let full = open_with(root, idx2.path(), &model);
    refresh(&full);
    assert_eq!(incremental, full.chunk_inventory().unwrap());
}
