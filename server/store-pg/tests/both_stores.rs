//! The engine's search checks, on both stores: the same workspace indexed by the local
//! engine (BM25 + the real model's fast tier) and published into a real Postgres store,
//! then each check run against the local index and against the store. What a search
//! promises (identifiers split, meaning found, filters, the definition a hit is about,
//! ignored and secret files absent, masked secrets, clear errors, the generation of each
//! hit, an edit replacing the old generation whole) holds on either.

#[path = "../../engine/tests/common.rs"]
mod common;
mod pg;

use std::path::Path;

use common::{fixture, write};
use scry_engine::{
    Engine, EngineConfig, EngineError, Fusion, Hit, SearchMode, SearchRequest, Tier,
};
use scry_models::{Embedder, EmbedderOptions, EmbedderSpec};
use scry_store_pg::{BlockingPgStore, ChunkRow, RepoFilter};

/// psf/requests' exceptions: classes small enough to share one chunk.
const EXCEPTIONS: &str = "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n";

const KEY: &str = "sk-proj-Zq8vN3kL0pR7tY2wX5cB9mD4fG6hJ1aS";

fn fast_spec() -> EmbedderSpec {
    let model = common::model_path();
    EmbedderSpec::Static {
        cache_dir: scry_models::config::static_cache_dir(&model),
        model,
        options: EmbedderOptions::default().with_threads(2),
    }
}

fn workspace(root: &Path) {
    fixture(root);
    write(root, "requests/exceptions.py", EXCEPTIONS);
    write(
        root,
        "src/client.py",
        &format!(
            "def make_client():\n    \"\"\"Builds the payments client.\"\"\"\n    return Client(api_key=\"{KEY}\")\n"
        ),
    );
}

/// One of the two stores, searched the way its users search it.
enum Store<'a> {
    Local(&'a Engine),
    Pg(&'a BlockingPgStore, &'a dyn Embedder),
}

impl Store<'_> {
    /// The generation its hits should come from now.
    fn generation(&self, published: u64) -> u64 {
        match self {
            Store::Local(e) => e.generation(),
            Store::Pg(..) => published,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Store::Local(_) => "local",
            Store::Pg(..) => "postgres",
        }
    }

    fn search(&self, req: &SearchRequest) -> Result<(SearchMode, Vec<Hit>), EngineError> {
        match self {
            Store::Local(e) => e.search(req).map(|r| (r.mode, r.hits)),
            Store::Pg(store, embedder) => {
                let vector = (req.mode != SearchMode::Lexical).then(|| {
                    let v = embedder.embed(&[req.query.trim().to_owned()]).unwrap();
                    (Tier::Fast, v.vectors.into_iter().next().unwrap())
                });
                let found =
                    store.search("acme", &RepoFilter::All, req, vector, Fusion::Rrf, 60.0)?;
                Ok((found.results.mode, found.results.hits))
            }
        }
    }

    fn hits(&self, q: &str, mode: SearchMode) -> Vec<Hit> {
        self.search(&SearchRequest::new(q).k(5).mode(mode))
            .unwrap_or_else(|e| panic!("{}: {q}: {e}", self.name()))
            .1
    }

    fn paths(&self, q: &str, mode: SearchMode) -> Vec<String> {
        self.hits(q, mode)
            .into_iter()
            .map(|h| h.file.path)
            .collect()
    }

    /// Paths of lexical hits whose text holds `ident` exactly.
    fn found(&self, ident: &str) -> Vec<String> {
        self.search(&SearchRequest::new(ident).k(20).mode(SearchMode::Lexical))
            .unwrap()
            .1
            .into_iter()
            .filter(|h| h.text.contains(ident))
            .map(|h| h.file.path)
            .collect()
    }
}

fn publish(engine: &Engine, store: &BlockingPgStore) -> i64 {
    let export = engine.snapshot().export(Tier::Fast).unwrap();
    assert_eq!(
        export.missing_vectors(),
        0,
        "every chunk has its fast-tier vector"
    );
    let rows: Vec<ChunkRow> = export
        .chunks
        .into_iter()
        .map(|(chunk, embedding)| ChunkRow { chunk, embedding })
        .collect();
    store.block_on(async {
        let mut w = store.store().writer("acme", "app").await.unwrap();
        w.add(&rows).await.unwrap();
        w.commit().await.unwrap()
    })
}

#[test]
fn the_engines_search_checks_hold_on_the_local_and_the_postgres_store() {
    let pg = pg::Postgres::start();
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    workspace(ws.path());
    let config = EngineConfig::builder([ws.path()])
        .index_dir(idx.path())
        .fast_embedder(Some(fast_spec()))
        .build();
    let engine = Engine::open(config).unwrap();
    common::refresh(&engine);
    let embedder = fast_spec().load().unwrap();
    let info = embedder.info().clone();
    let store = BlockingPgStore::open(&pg.url(), info.dims, &info.id).unwrap();
    assert_eq!(publish(&engine, &store), 1);

    for s in [Store::Local(&engine), Store::Pg(&store, embedder.as_ref())] {
        let n = s.name();
        // Ignored, secret and binary files are not searchable at all.
        for q in [
            "should_not_be_indexed",
            "generated_should_not_be_indexed",
            "vendored_should_not_be_indexed",
            "log_line_should_not_be_indexed",
        ] {
            assert!(s.found(q).is_empty(), "{n}: {q} was indexed");
        }
        // Lexical: identifiers split by the code tokenizer.
        assert_eq!(
            s.paths("parse config", SearchMode::Lexical)[0],
            "src/config.rs",
            "{n}"
        );
        assert_eq!(s.found("cartTotal")[0], "web/cart.ts", "{n}");
        // Vector: meaning, with words that appear nowhere in the code.
        let v = s.paths("sum the cost of products in a basket", SearchMode::Vector);
        assert_eq!(v[0], "web/cart.ts", "{n}: {v:?}");
        // Hybrid fuses both, with provenance and the generation.
        let (mode, hits) = s
            .search(&SearchRequest::new("accept tcp connections").k(3))
            .unwrap();
        assert_eq!(mode, SearchMode::Hybrid, "{n}");
        let top = &hits[0];
        assert_eq!(top.file.path, "src/server.rs", "{n}");
        assert_eq!(top.symbol.as_deref(), Some("accept_connections"), "{n}");
        assert_eq!((top.span.start_line, top.span.end_line), (1, 6), "{n}");
        assert!(
            top.ranks.lexical.is_some() && top.ranks.fast.is_some(),
            "{n}"
        );
        assert_eq!(top.generation, s.generation(1), "{n}");
        assert!(!top.file.stale, "{n}");
        // Filters.
        let (_, hits) = s
            .search(&SearchRequest::new("main").language(Some("go".into())))
            .unwrap();
        assert!(
            !hits.is_empty() && hits.iter().all(|h| h.language == "go"),
            "{n}"
        );
        let (_, hits) = s
            .search(&SearchRequest::new("config").path_glob(Some("*.json".into())))
            .unwrap();
        assert!(
            !hits.is_empty() && hits.iter().all(|h| h.file.path.ends_with(".json")),
            "{n}"
        );
        // A hit on small definitions sharing a chunk names the one asked for.
        let hit = &s.hits("StreamConsumedError", SearchMode::Lexical)[0];
        assert_eq!(hit.symbol.as_deref(), Some("StreamConsumedError"), "{n}");
        assert_eq!(hit.kind, "class", "{n}");
        let d = hit.definition.as_ref().expect("the matched definition");
        assert_eq!((d.span.start_line, d.span.end_line), (5, 6), "{n}");
        assert_eq!((hit.span.start_line, hit.span.end_line), (1, 10), "{n}");
        assert_eq!(
            s.hits("retry error", SearchMode::Lexical)[0]
                .symbol
                .as_deref(),
            Some("RetryError"),
            "{n}"
        );
        // Secrets were masked before anything was stored.
        let hit = &s.hits("payments client", SearchMode::Lexical)[0];
        assert!(
            hit.text.contains("make_client") && !hit.text.contains(KEY),
            "{n}: {}",
            hit.text
        );
        assert!(
            s.found("Zq8vN3kL0pR7tY2wX5cB9mD4fG6hJ1aS").is_empty(),
            "{n}"
        );
        // Bad requests get clear errors; a huge k is bounded.
        assert!(s.search(&SearchRequest::new("   ")).is_err(), "{n}");
        assert!(
            s.search(&SearchRequest::new("x".repeat(20_000))).is_err(),
            "{n}"
        );
        assert!(
            s.search(&SearchRequest::new("x").path_glob(Some("[".into())))
                .is_err(),
            "{n}"
        );
        let (_, hits) = s
            .search(&SearchRequest::new("config").k(1_000_000_000))
            .unwrap();
        assert!(hits.len() <= scry_engine::MAX_K, "{n}");
    }

    // An edit: the local index refreshes, the next generation is published whole; the
    // new name is found, the old one is gone, and every hit names the new generation.
    write(
        ws.path(),
        "src/config.rs",
        &std::fs::read_to_string(ws.path().join("src/config.rs"))
            .unwrap()
            .replace("parse_config", "load_settings"),
    );
    common::refresh(&engine);
    assert_eq!(publish(&engine, &store), 2);
    for s in [Store::Local(&engine), Store::Pg(&store, embedder.as_ref())] {
        let n = s.name();
        assert!(s.found("parse_config").is_empty(), "{n}");
        assert_eq!(s.found("load_settings")[0], "src/config.rs", "{n}");
        let hits = s.hits("load settings", SearchMode::Hybrid);
        assert!(!hits.is_empty(), "{n}");
        assert!(hits.iter().all(|h| h.generation == s.generation(2)), "{n}");
    }
    // The store has no workspace folders to narrow to: it says so.
    let e = Store::Pg(&store, embedder.as_ref())
        .search(&SearchRequest::new("config").within(Some("src".into())))
        .unwrap_err();
    assert!(e.to_string().contains("repository"), "{e}");
}
