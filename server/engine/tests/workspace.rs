//! The index end to end on a real workspace and the real embedding model: discovery,
//! every search mode, edits, renames, deletes, restarts without re-embedding, and
//! corruption detected and rebuilt.

mod common;

use common::*;
use scry_engine::{SearchMode, SearchRequest};

#[test]
fn indexes_searches_follows_changes_and_restarts_without_reembedding() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    fixture(root);
    let model = Counting::load();
    let engine = open_with(root, idx.path(), &model);
    let report = refresh(&engine);
    // Hidden files (.gitignore, .env) are not indexed by default.
    assert_eq!(report.files_indexed, 7, "{report:?}");
    assert_eq!(report.files_skipped.get("secret"), Some(&1));
    assert_eq!(report.files_skipped.get("binary"), Some(&1));
    let first_embeds = model.texts();
    assert!(first_embeds >= 8, "embedded {first_embeds}");
    assert!(engine.vectors_consistent());

    // Ignored, secret and binary files are not searchable at all.
    for q in [
        "should_not_be_indexed",
        "generated_should_not_be_indexed",
        "vendored_should_not_be_indexed",
        "log_line_should_not_be_indexed",
    ] {
        assert!(found(&engine, q).is_empty(), "{q} was indexed");
    }

    // Lexical: identifiers split by the code tokenizer.
    assert_eq!(
        paths(&engine, "parse config", SearchMode::Lexical)[0],
        "src/config.rs"
    );
    assert_eq!(found(&engine, "cartTotal")[0], "web/cart.ts");
    // Vector: meaning, with words that appear nowhere in the code.
    let v = paths(
        &engine,
        "sum the cost of products in a basket",
        SearchMode::Vector,
    );
    assert_eq!(v[0], "web/cart.ts", "{v:?}");
    let v = paths(
        &engine,
        "remove stale logins past their deadline",
        SearchMode::Vector,
    );
    assert_eq!(v[0], "app/session.py", "{v:?}");
    // Hybrid fuses both and reports provenance and the generation.
    let r = engine
        .search(&SearchRequest::new("accept tcp connections").k(3))
        .unwrap();
    assert_eq!(r.mode, SearchMode::Hybrid);
    assert!(r.notice.is_none());
    let top = &r.hits[0];
    assert_eq!(top.file.path, "src/server.rs");
    assert_eq!(top.symbol.as_deref(), Some("accept_connections"));
    assert_eq!((top.span.start_line, top.span.end_line), (1, 6));
    assert!(top.ranks.lexical.is_some() && top.ranks.vector.is_some());
    assert_eq!(top.generation, engine.generation());
    // Filters.
    let r = engine
        .search(&SearchRequest::new("main").language(Some("go".into())))
        .unwrap();
    assert!(r.hits.iter().all(|h| h.language == "go") && !r.hits.is_empty());
    let r = engine
        .search(&SearchRequest::new("config").path_glob(Some("*.json".into())))
        .unwrap();
    assert!(r.hits.iter().all(|h| h.file.path.ends_with(".json")) && !r.hits.is_empty());
    let r = engine
        .search(&SearchRequest::new("installer").within(Some("docs".into())))
        .unwrap();
    assert!(r.hits.iter().all(|h| h.file.path.starts_with("docs/")) && !r.hits.is_empty());

    // Edit: the new name is found, the old one is gone.
    let before = model.texts();
    write(
        root,
        "src/config.rs",
        &std::fs::read_to_string(root.join("src/config.rs"))
            .unwrap()
            .replace("parse_config", "load_settings"),
    );
    let r = refresh(&engine);
    assert_eq!(r.files_indexed, 1);
    assert!(found(&engine, "parse_config").is_empty());
    assert_eq!(found(&engine, "load_settings")[0], "src/config.rs");
    // Only the changed chunk was embedded; the struct in the same file was not.
    assert_eq!(model.texts() - before, 1);

    // Rename: results follow. The path is part of what is embedded, so the renamed
    // file's one chunk is embedded again, and nothing else.
    let before = model.texts();
    std::fs::rename(root.join("src/server.rs"), root.join("src/net.rs")).unwrap();
    let r = refresh(&engine);
    assert_eq!((r.files_indexed, r.files_removed), (1, 1));
    assert_eq!(found(&engine, "accept_connections"), ["src/net.rs"]);
    assert_eq!(
        model.texts() - before,
        1,
        "a rename embeds the renamed file's chunks, and only those"
    );

    // Delete.
    std::fs::remove_file(root.join("cmd/main.go")).unwrap();
    refresh(&engine);
    assert!(found(&engine, "gopher").is_empty());
    assert!(engine.vectors_consistent());
    let inventory = engine.chunk_inventory().unwrap();
    let generation = engine.generation();
    drop(engine);

    // Restart: nothing is re-read into the index, nothing is embedded.
    let model2 = Counting::load();
    let engine = open_with(root, idx.path(), &model2);
    assert_eq!(engine.generation(), generation);
    let r = refresh(&engine);
    assert_eq!(
        (r.files_indexed, r.files_removed, r.chunks_embedded),
        (0, 0, 0)
    );
    assert_eq!(model2.texts(), 0);
    assert_eq!(engine.chunk_inventory().unwrap(), inventory);
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
fn a_supplied_query_embedding_is_used_instead_of_embedding_the_query() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let model = Counting::load();
    let engine = open_with(ws.path(), idx.path(), &model);
    refresh(&engine);
    let cart = engine
        .embed_query("sum the cost of products in a basket")
        .unwrap()
        .unwrap();
    let before = model.calls.load(std::sync::atomic::Ordering::SeqCst);
    // The text says sessions; the vector says shopping carts: the vector decides.
    let r = engine
        .search(
            &SearchRequest::new("remove stale logins past their deadline")
                .mode(SearchMode::Vector)
                .query_embedding(Some(cart)),
        )
        .unwrap();
    assert_eq!(r.hits[0].file.path, "web/cart.ts");
    assert_eq!(
        model.calls.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "the query was embedded anyway"
    );
}

#[test]
fn without_a_model_search_is_bm25_only_and_says_so() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let status = engine.status();
    assert_eq!(status.mode, SearchMode::Lexical);
    assert_eq!(status.vectors, 0);
    for mode in [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Lexical] {
        let r = engine
            .search(&SearchRequest::new("cartTotal").mode(mode))
            .unwrap();
        assert_eq!(r.mode, SearchMode::Lexical);
        assert_eq!(r.hits[0].file.path, "web/cart.ts");
        if mode != SearchMode::Lexical {
            assert!(
                r.notice.as_deref().unwrap().starts_with("BM25-only"),
                "{:?}",
                r.notice
            );
        }
    }
}

#[test]
fn a_model_added_later_embeds_the_existing_index_without_reindexing() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    drop(engine);
    let model = Counting::load();
    let engine = open_with(ws.path(), idx.path(), &model);
    let r = refresh(&engine);
    assert_eq!(r.files_indexed, 0);
    assert!(r.chunks_embedded >= 8);
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
fn unsaved_buffers_are_searchable_and_cleared_back_to_disk() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    engine
        .set_overlay("src/config.rs", "pub fn unsaved_edit_marker() {}\n")
        .unwrap();
    assert_eq!(found(&engine, "unsaved_edit_marker"), ["src/config.rs"]);
    assert!(found(&engine, "parse_config").is_empty());
    // A refresh from disk does not clobber the buffer.
    refresh(&engine);
    assert_eq!(found(&engine, "unsaved_edit_marker"), ["src/config.rs"]);
    // A buffer for a file that does not exist on disk yet.
    engine
        .set_overlay("src/brand_new.rs", "fn brand_new_marker() {}\n")
        .unwrap();
    assert_eq!(found(&engine, "brand_new_marker"), ["src/brand_new.rs"]);
    engine.clear_overlay("src/config.rs").unwrap();
    engine.clear_overlay("src/brand_new.rs").unwrap();
    assert!(found(&engine, "unsaved_edit_marker").is_empty());
    assert!(found(&engine, "brand_new_marker").is_empty());
    assert_eq!(found(&engine, "parse_config")[0], "src/config.rs");
    // Confinement and secrets.
    assert!(engine.set_overlay("../outside.rs", "x").is_err());
    assert!(engine.set_overlay("/etc/passwd", "x").is_err());
    assert!(engine.set_overlay(".env", "KEY=1").is_err());
}

#[test]
fn a_second_writer_on_the_same_index_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let _a = open_lexical(ws.path(), idx.path());
    let b = scry_engine::Engine::open(config(ws.path(), idx.path()));
    assert!(matches!(b, Err(scry_engine::EngineError::Locked(_))));
}

#[test]
fn bad_requests_get_clear_errors() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    assert!(engine.search(&SearchRequest::new("   ")).is_err());
    assert!(
        engine
            .search(&SearchRequest::new("x".repeat(20_000)))
            .is_err()
    );
    assert!(
        engine
            .search(&SearchRequest::new("x").path_glob(Some("[".into())))
            .is_err()
    );
    assert!(
        engine
            .search(&SearchRequest::new("x").within(Some("/etc".into())))
            .is_err()
    );
    // A huge k is bounded, not an allocation failure.
    let r = engine
        .search(&SearchRequest::new("config").k(1_000_000_000))
        .unwrap();
    assert!(r.hits.len() <= scry_engine::MAX_K);
}

#[test]
fn a_broken_model_file_leaves_a_working_bm25_engine() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let bad = ws.path().join("bad.gguf");
    std::fs::write(&bad, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let truncated = ws.path().join("truncated.gguf");
    let real = std::fs::read(model_path()).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 3]).unwrap();
    for model in [bad, truncated, ws.path().join("missing.gguf")] {
        let cfg = scry_engine::EngineConfig::builder([ws.path()])
            .index_dir(idx.path())
            .embedding_model(Some(model.clone()))
            .build();
        let engine = scry_engine::Engine::open(cfg).expect("opens without the model");
        let status = engine.status();
        assert!(status.model.is_none());
        let why = status.model_problem.unwrap();
        assert!(
            why.contains(&*model.file_name().unwrap().to_string_lossy()),
            "{why}"
        );
        refresh(&engine);
        assert_eq!(
            paths(&engine, "cartTotal", SearchMode::Hybrid)[0],
            "web/cart.ts"
        );
    }
}

#[test]
fn hidden_files_are_opt_in_and_secrets_stay_out_even_then() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let cfg = scry_engine::EngineConfig::builder([ws.path()])
        .index_dir(idx.path())
        .include_hidden(true)
        .build();
    let engine = scry_engine::Engine::open(cfg).unwrap();
    let r = refresh(&engine);
    assert_eq!(r.files_skipped.get("secret"), Some(&2), "{r:?}");
    assert_eq!(found(&engine, "scryignore").len(), 0);
    assert_eq!(
        paths(&engine, "vendor", SearchMode::Lexical),
        [".scryignore"]
    );
    assert!(found(&engine, "should_not_be_indexed").is_empty());
}

#[test]
fn buffers_are_indexed_lexically_at_once_and_embedded_when_asked() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let model = Counting::load();
    let engine = open_with(ws.path(), idx.path(), &model);
    refresh(&engine);
    let vectors_before = engine.status().vectors;
    let text = "/// Converts a temperature from degrees Celsius to Fahrenheit.\npub fn celsius_to_fahrenheit(c: f64) -> f64 {\n    c * 9.0 / 5.0 + 32.0\n}\n";
    engine.set_overlay("src/units.rs", text).unwrap();
    // Searchable by keyword at once; no vector computed or file rewritten yet.
    assert_eq!(found(&engine, "celsius_to_fahrenheit"), ["src/units.rs"]);
    assert_eq!(engine.missing_vectors(), 1);
    assert_eq!(engine.status().vectors, vectors_before);
    // Vector-only search cannot see it yet, and says so instead of returning less.
    let v = engine
        .search(&scry_engine::SearchRequest::new("celsius").mode(SearchMode::Vector))
        .unwrap();
    let notice = v.notice.expect("a notice while vectors are missing");
    assert!(
        notice.contains("1 of") && notice.contains("hybrid or lexical"),
        "{notice}"
    );
    // A hybrid search still ranks it first: waiting for a vector is no penalty.
    assert_eq!(
        paths(&engine, "celsius_to_fahrenheit", SearchMode::Hybrid)[0],
        "src/units.rs"
    );
    // Then one call embeds it, and meaning finds it.
    let r = engine.embed_missing().unwrap();
    assert_eq!(r.chunks_embedded, 1);
    assert_eq!(engine.missing_vectors(), 0);
    assert!(engine.vectors_consistent());
    assert_eq!(
        paths(
            &engine,
            "convert degrees between temperature scales",
            SearchMode::Vector
        )[0],
        "src/units.rs"
    );
    // Editing it again keeps the old vector until a commit that is not a buffer's,
    // and undoing the edit needs no embedding at all.
    engine
        .set_overlay("src/units.rs", &text.replace("32.0", "32.5"))
        .unwrap();
    engine.set_overlay("src/units.rs", text).unwrap();
    assert_eq!(
        engine.missing_vectors(),
        0,
        "the undone chunk's vector was kept"
    );
    engine.clear_overlay("src/units.rs").unwrap();
    assert!(engine.vectors_consistent());
    assert!(engine.verify().is_ok(), "{:?}", engine.verify());
}

#[test]
fn secrets_inside_files_are_masked_in_the_index_and_in_results() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let key = "sk-proj-Zq8vN3kL0pR7tY2wX5cB9mD4fG6hJ1aS";
    write(
        ws.path(),
        "src/client.py",
        &format!(
            "def make_client():\n    \"\"\"Builds the payments client.\"\"\"\n    return Client(api_key=\"{key}\")\n"
        ),
    );
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let r = engine
        .search(&scry_engine::SearchRequest::new("payments client").mode(SearchMode::Lexical))
        .unwrap();
    let hit = &r.hits[0];
    assert!(hit.text.contains("make_client"), "{}", hit.text);
    assert!(
        !hit.text.contains(key),
        "the key is in the index: {}",
        hit.text
    );
    assert!(hit.text.contains(&"*".repeat(key.len())), "{}", hit.text);
    let source = r.sources.indexed_text(&hit.file).expect("unchanged file");
    assert!(
        !source.contains(key),
        "the key is in the source text: {source}"
    );
    // Masking keeps offsets: the hit's bytes still frame the function on disk.
    let disk = std::fs::read_to_string(ws.path().join("src/client.py")).unwrap();
    assert_eq!(
        disk[hit.span.byte_start..hit.span.byte_end].len(),
        hit.text.len()
    );
    assert!(found(&engine, "Zq8vN3kL0pR7tY2wX5cB9mD4fG6hJ1aS").is_empty());
}

/// psf/requests' exceptions: classes small enough to share one chunk.
const EXCEPTIONS: &str = "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n";

#[test]
fn a_hit_on_merged_small_definitions_names_the_one_asked_for() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), "requests/exceptions.py", EXCEPTIONS);
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    assert_eq!(engine.status().chunks, 1, "the three classes share a chunk");
    let r = engine
        .search(&SearchRequest::new("StreamConsumedError").mode(SearchMode::Lexical))
        .unwrap();
    let hit = &r.hits[0];
    assert_eq!(hit.symbol.as_deref(), Some("StreamConsumedError"));
    assert_eq!(hit.kind, "class");
    let d = hit.definition.as_ref().expect("the matched definition");
    assert_eq!(d.name, "StreamConsumedError");
    assert_eq!((d.span.start_line, d.span.end_line), (5, 6));
    assert_eq!(d.name_span.start_line, 5);
    // The hit itself still shows the whole chunk.
    assert_eq!((hit.span.start_line, hit.span.end_line), (1, 10));
    let r = engine
        .search(&SearchRequest::new("retry error").mode(SearchMode::Lexical))
        .unwrap();
    assert_eq!(r.hits[0].symbol.as_deref(), Some("RetryError"));

    // Each one is a symbol of its own, at its own line.
    let mut q = scry_engine::SymbolQuery::new("StreamConsumedError");
    q.fuzzy = false;
    let found = engine.symbols(&q).unwrap();
    assert_eq!(found.hits.len(), 1);
    let s = &found.hits[0];
    assert_eq!(s.definition.kind, scry_engine::ChunkKind::Class);
    assert_eq!(s.definition.name_span.start_line, 5);
    assert!(!s.file.stale);
}

#[test]
fn results_say_whether_their_file_still_holds_what_was_indexed() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), "requests/exceptions.py", EXCEPTIONS);
    fixture(ws.path());
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let stale_of = |engine: &scry_engine::Engine, q: &str| {
        let r = engine
            .search(&SearchRequest::new(q).mode(SearchMode::Lexical))
            .unwrap();
        let h = &r.hits[0];
        let text = r.sources.indexed_text(&h.file);
        (h.file.path.clone(), h.file.stale, text.is_some())
    };
    assert_eq!(
        stale_of(&engine, "StreamConsumedError"),
        ("requests/exceptions.py".into(), false, true)
    );
    // Changed on disk, not yet refreshed: stale, and its indexed text is gone.
    write(
        ws.path(),
        "requests/exceptions.py",
        &format!("# moved\n{EXCEPTIONS}"),
    );
    assert_eq!(
        stale_of(&engine, "StreamConsumedError"),
        ("requests/exceptions.py".into(), true, false)
    );
    let mut q = scry_engine::SymbolQuery::new("StreamConsumedError");
    q.fuzzy = false;
    assert!(engine.symbols(&q).unwrap().hits[0].file.stale);
    assert!(!stale_of(&engine, "cartTotal").1, "other files stay fresh");
    // An editor buffer is what the index holds then: fresh again, whatever the disk.
    let buffer = format!("# edited\n{EXCEPTIONS}\n\nclass BufferOnlyError(Exception):\n    pass\n");
    let path = ws.path().join("requests/exceptions.py");
    engine
        .set_overlay(&path.to_string_lossy(), &buffer)
        .unwrap();
    assert_eq!(
        stale_of(&engine, "BufferOnlyError"),
        ("requests/exceptions.py".into(), false, true)
    );
    // Closed: the disk is authoritative and was re-read.
    engine.clear_overlay(&path.to_string_lossy()).unwrap();
    assert!(!stale_of(&engine, "StreamConsumedError").1);
    // Deleted: stale.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        stale_of(&engine, "StreamConsumedError"),
        ("requests/exceptions.py".into(), true, false)
    );
}

#[test]
fn a_dry_run_plans_exactly_what_the_refresh_then_does() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    // A secret in a file: the dry run must chunk the masked text, as the writer does.
    write(
        ws.path(),
        "src/keys.py",
        "def client():\n    return Client(api_key=\"sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c\")\n",
    );
    let cfg = config(ws.path(), idx.path());
    let plan = scry_engine::Engine::dry_run(&cfg).unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    let done = refresh(&engine);
    assert_eq!(plan.files_to_index, done.files_indexed);
    assert_eq!(plan.chunks, done.chunks_indexed);
    assert_eq!(plan.files_skipped, done.files_skipped);
    assert_eq!(plan.files, done.files_seen);
    drop(engine);

    // One file changed, one only touched, one new: the same count both ways.
    write(ws.path(), "src/config.rs", "pub fn changed_config() {}\n");
    let server = std::fs::read_to_string(ws.path().join("src/server.rs")).unwrap();
    write(ws.path(), "src/server.rs", &server);
    write(ws.path(), "src/new.rs", "pub fn brand_new() {}\n");
    let plan = scry_engine::Engine::dry_run(&cfg).unwrap();
    assert_eq!((plan.files_to_index, plan.chunks), (2, 2));
    let engine = open_lexical(ws.path(), idx.path());
    let done = refresh(&engine);
    assert_eq!(
        (done.files_indexed, done.chunks_indexed),
        (plan.files_to_index, plan.chunks)
    );
    let plan = scry_engine::Engine::dry_run(&cfg).unwrap();
    assert_eq!(plan.files_to_index, 0, "nothing left to do");
}

/// `read_range` once served `.docker/config.json` and git-ignored build output, which
/// the index never holds.
#[test]
fn reads_serve_only_what_the_index_would_index() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), ".gitignore", "build/\n*.log\n");
    write(ws.path(), ".scryignore", "generated/\n");
    write(ws.path(), "src/lib.rs", "pub fn served() {}\n");
    write(ws.path(), "docs/guide.md", "# Guide\n");
    write(ws.path(), "build/out.js", "NOT SERVED build output\n");
    write(ws.path(), "server.log", "NOT SERVED log\n");
    write(ws.path(), "generated/api.rs", "NOT SERVED generated\n");
    write(
        ws.path(),
        ".docker/config.json",
        "{\"auths\": \"NOT SERVED\"}\n",
    );
    write(ws.path(), "src/.hidden.rs", "NOT SERVED hidden\n");
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    for ok in ["src/lib.rs", "docs/guide.md"] {
        assert!(engine.read_file(ok).is_ok(), "{ok}");
    }
    for refused in [
        "build/out.js",
        "server.log",
        "generated/api.rs",
        ".docker/config.json",
        "src/.hidden.rs",
        ".gitignore",
    ] {
        let err = engine.read_file(refused).unwrap_err().to_string();
        assert!(
            err.contains("not indexed and not served"),
            "{refused}: {err}"
        );
    }
}

/// Indexing once committed only at the end under ~400 files, so a kill lost all the
/// embedding work: with a model it now commits every `embed_bytes_per_commit` of source.
#[test]
fn embedding_commits_in_small_batches_so_a_kill_loses_little() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    for i in 0..12 {
        let body = format!(
            "/// Computes value number {i} for the report.\npub fn value_{i}() -> u64 {{ {i} }}\n"
        )
        .repeat(8);
        write(ws.path(), &format!("src/v{i}.rs"), &body);
    }
    let cfg = scry_engine::EngineConfig::builder([ws.path()])
        .index_dir(idx.path())
        .embed_threads(2)
        .embed_bytes_per_commit(2048)
        .build();
    let model = Counting::load();
    let engine = scry_engine::Engine::open_with_embedder(
        cfg,
        Ok(model.clone() as std::sync::Arc<dyn scry_models::Embedder>),
    )
    .unwrap();
    let report = refresh(&engine);
    assert!(report.commits >= 4, "{} commits", report.commits);
    assert_eq!(engine.status().chunks_without_vectors, 0);
}

#[test]
fn a_symbol_lookup_lists_the_definition_before_its_reexports() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let src = ws.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // The re-export sits in the file that sorts first, so only its kind can put it last.
    std::fs::write(src.join("a_lib.rs"), "pub use crate::widget::Widget;\n").unwrap();
    std::fs::write(
        src.join("widget.rs"),
        "pub struct Widget {\n    id: u32,\n}\n",
    )
    .unwrap();
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    let hits = engine
        .symbols(&scry_engine::SymbolQuery::new("Widget"))
        .unwrap()
        .hits;
    let listed: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.file.path.as_str(), h.definition.kind.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("src/widget.rs", "struct"), ("src/a_lib.rs", "reexport")]
    );
    // Ranked search: the definition first, the re-export above nothing else.
    assert_eq!(found(&engine, "Widget")[0], "src/widget.rs");
}
