//! The engine's search through the storage seam on a real Postgres: a generation the
//! local engine indexed, published into the store, is found and ranked as the local
//! index ranks it; vectors from the store join the fusion; hits name their repository
//! and generation; a logical replica answers as its primary once caught up, and says
//! when it is behind.

mod pg;

use std::path::Path;
use std::time::{Duration, Instant};

use pg::Postgres;
use scry_engine::{Engine, EngineConfig, Fusion, SearchMode, SearchRequest, StoredChunk, Tier};
use scry_store_pg::{BlockingPgStore, ChunkRow, RepoFilter, StoreSearch};

const MODEL: &str = "test-model";

/// Real Rust sources to index: this workspace's chunker and index crates.
fn workspace(dir: &Path) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (from, to) in [("chunk/src", "chunk"), ("index/src", "index")] {
        let to = dir.join(to);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(here.join(from)).unwrap() {
            let e = e.unwrap();
            if e.path().extension().is_some_and(|x| x == "rs") {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
}

fn local_engine(ws: &Path, idx: &Path) -> Engine {
    let engine = Engine::open_lexical(EngineConfig::builder([ws]).index_dir(idx).build()).unwrap();
    engine.refresh(&Default::default(), &mut |_| {}).unwrap();
    engine
}

/// Publishes `chunks` as the next generation of `org`/`repo`.
fn publish(store: &BlockingPgStore, org: &str, repo: &str, chunks: Vec<ChunkRow>) -> i64 {
    store.block_on(async {
        let mut w = store.store().writer(org, repo).await.unwrap();
        w.add(&chunks).await.unwrap();
        w.commit().await.unwrap()
    })
}

fn rows(engine: &Engine) -> Vec<ChunkRow> {
    let export = engine.snapshot().export(Tier::Fast).unwrap();
    export
        .chunks
        .into_iter()
        .map(|(chunk, embedding)| ChunkRow { chunk, embedding })
        .collect()
}

fn lexical(q: &str) -> SearchRequest {
    SearchRequest::new(q).k(5).mode(SearchMode::Lexical)
}

fn search(store: &BlockingPgStore, org: &str, req: &SearchRequest) -> StoreSearch {
    store
        .search(org, &RepoFilter::All, req, None, Fusion::Rrf, 60.0)
        .unwrap()
}

fn places(hits: &[scry_engine::Hit]) -> Vec<(String, u32)> {
    hits.iter()
        .map(|h| (h.file.path.clone(), h.span.start_line))
        .collect()
}

#[test]
fn the_store_finds_and_ranks_a_published_generation_as_the_local_index_does() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workspace(&ws);
    let engine = local_engine(&ws, &dir.path().join("idx"));
    let store = BlockingPgStore::open(&pg.url(), 3, MODEL).unwrap();
    assert_eq!(publish(&store, "acme", "scry", rows(&engine)), 1);
    let queries = [
        "split a long chunk into windows",
        "tokenize identifiers into camel case parts",
        "FileHash",
        "vector store search with a filter",
        "how definitions are stored with a chunk",
        "manifest commit of a generation",
    ];
    let (mut same_first, mut shared, mut total) = (0, 0, 0);
    for q in queries {
        let local = engine.search(&lexical(q)).unwrap();
        let remote = search(&store, "acme", &lexical(q));
        let (local, remote) = (places(&local.hits), places(&remote.results.hits));
        assert!(!remote.is_empty(), "{q}: nothing from the store");
        same_first += usize::from(local.first() == remote.first());
        shared += remote.iter().filter(|p| local.contains(p)).count();
        total += local.len();
    }
    // pg_search is Tantivy, the terms are the local index's own, and the ranking stage
    // is the same code: the lists agree but for BM25 length norms (Postgres counts the
    // stems a chunk's terms carry; the local index counts words).
    assert!(
        same_first >= queries.len() - 1,
        "{same_first} of {} first hits agree",
        queries.len()
    );
    assert!(shared * 10 >= total * 8, "{shared} of {total} hits shared");
    // The ranking stage ran on the store's rows: a definition named in the query
    // leads, with its kind and the definition that matched.
    let r = search(&store, "acme", &lexical("FileHash"));
    let top = &r.results.hits[0];
    assert_eq!(top.file.path, "index/file_hash.rs");
    assert_eq!(top.symbol.as_deref(), Some("FileHash"));
    assert_eq!(top.kind, "struct");
    assert_eq!((top.file.root.to_str(), top.generation), (Some("scry"), 1));
    assert!(!top.file.stale);
}

/// A chunk of one line, with a 3-dimension vector.
fn tiny(path: &str, text: &str, vector: [f32; 3]) -> ChunkRow {
    ChunkRow {
        chunk: StoredChunk {
            root: 0,
            path: path.into(),
            span: scry_engine::Span::new(0, text.len(), 1, 1),
            symbol: None,
            scope: None,
            context: None,
            text: text.into(),
            kind: "function".into(),
            language: "rust".into(),
            definitions: Vec::new(),
            vec_key: text.len() as u64,
            file_hash: scry_engine::FileHash::of(text.as_bytes()),
        },
        embedding: Some(vector.to_vec()),
    }
}

#[test]
fn vectors_from_the_store_join_the_fusion_and_each_hit_names_its_repository() {
    let pg = Postgres::start();
    let store = BlockingPgStore::open(&pg.url(), 3, MODEL).unwrap();
    publish(
        &store,
        "acme",
        "api",
        vec![
            tiny(
                "src/retry.rs",
                "fn retry_with_backoff() {}",
                [1.0, 0.0, 0.0],
            ),
            tiny(
                "src/pause.rs",
                "fn sleep_between_attempts() {}",
                [0.9, 0.1, 0.0],
            ),
        ],
    );
    publish(
        &store,
        "acme",
        "web",
        vec![tiny("app.ts", "function render() {}", [0.0, 1.0, 0.0])],
    );
    publish(
        &store,
        "acme",
        "web",
        vec![tiny("app.ts", "function render() {}", [0.0, 1.0, 0.0])],
    );
    let req = SearchRequest::new("retry backoff").k(5);
    let found = store
        .search(
            "acme",
            &RepoFilter::All,
            &req,
            Some((Tier::Fast, vec![1.0, 0.05, 0.0])),
            Fusion::Rrf,
            60.0,
        )
        .unwrap();
    assert_eq!(found.results.mode, SearchMode::Hybrid);
    let hits = &found.results.hits;
    assert_eq!(hits[0].file.path, "src/retry.rs");
    assert_eq!(hits[0].ranks.lexical, Some(1));
    assert_eq!(hits[0].ranks.fast, Some(1));
    // Found by meaning alone: no word in common.
    let pause = hits
        .iter()
        .find(|h| h.file.path == "src/pause.rs")
        .expect("the neighbour");
    assert_eq!((pause.ranks.lexical, pause.ranks.fast), (None, Some(2)));
    let names: Vec<(&str, i64)> = found
        .repos
        .iter()
        .map(|r| (r.name.as_str(), r.generation))
        .collect();
    assert_eq!(names, [("api", 1), ("web", 2)]);
    let web = hits
        .iter()
        .find(|h| h.file.path == "app.ts")
        .expect("the other repository");
    assert_eq!((web.file.root.to_str(), web.generation), (Some("web"), 2));
    // Without a query vector: BM25 only, and it says so.
    let lexical_only = search(&store, "acme", &SearchRequest::new("render"));
    assert_eq!(lexical_only.results.mode, SearchMode::Lexical);
    assert!(lexical_only.results.notice.is_some());
    // Another organisation sees none of it.
    assert!(
        search(&store, "globex", &lexical("retry render"))
            .results
            .hits
            .is_empty()
    );
}

#[test]
fn a_logical_replica_answers_as_its_primary_once_caught_up_and_says_when_it_is_behind() {
    let primary = Postgres::start();
    let replica = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workspace(&ws);
    let engine = local_engine(&ws, &dir.path().join("idx"));
    let main = BlockingPgStore::open(&primary.url(), 3, MODEL).unwrap();
    main.block_on(main.store().publish_for_replicas()).unwrap();
    publish(&main, "acme", "scry", rows(&engine));
    // The replica makes the same schema (its own BM25 and vector indexes), then follows.
    let copy = BlockingPgStore::open(&replica.url(), 3, MODEL)
        .unwrap()
        .with_primary(&primary.url())
        .unwrap();
    copy.block_on(copy.store().replicate_from(&primary.url()))
        .unwrap();
    let caught_up = |generation: i64| {
        let started = Instant::now();
        loop {
            let g = copy
                .block_on(copy.store().active_generations("acme"))
                .unwrap();
            if g == [("scry".to_owned(), generation)] {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the replica is at {g:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    caught_up(1);
    let q = lexical("tokenize identifiers into camel case parts");
    let from_primary = search(&main, "acme", &q);
    // Row counts match once the initial copy is done; then the answers are the same.
    let started = Instant::now();
    let from_replica = loop {
        let r = search(&copy, "acme", &q);
        if places(&r.results.hits) == places(&from_primary.results.hits) {
            break r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the replica never agreed"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        from_replica
            .results
            .hits
            .iter()
            .all(|h| h.generation == 1 && !h.file.stale)
    );
    // The primary moves on; the replica, stopped from following, is behind and says so.
    copy.block_on(async {
        let c = tokio_postgres::connect(&replica.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(c.1);
        c.0.batch_execute("ALTER SUBSCRIPTION scry_replica DISABLE")
            .await
            .unwrap();
    });
    publish(&main, "acme", "scry", rows(&engine));
    let behind = search(&copy, "acme", &q);
    assert!(!behind.results.hits.is_empty());
    assert!(
        behind
            .results
            .hits
            .iter()
            .all(|h| h.generation == 1 && h.file.stale)
    );
    copy.block_on(async {
        let c = tokio_postgres::connect(&replica.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(c.1);
        c.0.batch_execute("ALTER SUBSCRIPTION scry_replica ENABLE")
            .await
            .unwrap();
    });
    caught_up(2);
    let fresh = search(&copy, "acme", &q);
    assert!(
        fresh
            .results
            .hits
            .iter()
            .all(|h| h.generation == 2 && !h.file.stale)
    );
}

#[test]
fn shards_are_searched_as_one_each_repository_in_the_shard_its_name_picks() {
    let (one, two) = (Postgres::start(), Postgres::start());
    let urls = [one.url(), two.url()];
    for url in &urls {
        BlockingPgStore::open(url, 3, MODEL).unwrap();
    }
    let shards = BlockingPgStore::open_shards(&urls).unwrap();
    // Two names that land in different shards (the first repository in each shard's
    // own database gets id 1: their roots must still differ).
    let names = ["chunker", "indexer", "alpha", "beta", "gamma", "delta"];
    let (a, b) = names
        .iter()
        .flat_map(|a| names.iter().map(move |b| (*a, *b)))
        .find(|(a, b)| !std::ptr::eq(shards.shard_for("acme", a), shards.shard_for("acme", b)))
        .expect("two names in different shards");
    let dir = tempfile::tempdir().unwrap();
    let (ws_a, ws_b) = (dir.path().join("a"), dir.path().join("b"));
    workspace(&ws_a);
    std::fs::remove_dir_all(ws_a.join("index")).unwrap();
    workspace(&ws_b);
    std::fs::remove_dir_all(ws_b.join("chunk")).unwrap();
    for (name, ws) in [(a, &ws_a), (b, &ws_b)] {
        let engine = local_engine(ws, &dir.path().join(format!("idx-{name}")));
        let writer = BlockingPgStore::open_for_writing(&urls, "acme", name, 3, MODEL).unwrap();
        assert_eq!(publish(&writer, "acme", name, rows(&engine)), 1);
    }
    let r = search(&shards, "acme", &lexical("FileHash"));
    let top = &r.results.hits[0];
    assert_eq!(
        (top.file.root.to_str(), top.file.path.as_str()),
        (Some(b), "index/file_hash.rs")
    );
    let r = search(&shards, "acme", &lexical("split a long chunk into windows"));
    assert_eq!(r.results.hits[0].file.root.to_str(), Some(a));
    let names: Vec<(&str, i64)> = r
        .repos
        .iter()
        .map(|g| (g.name.as_str(), g.generation))
        .collect();
    let mut want = vec![(a, 1), (b, 1)];
    want.sort();
    assert_eq!(names, want);
    // Each shard holds only its own repository.
    for url in &urls {
        let alone = BlockingPgStore::open_existing(url).unwrap();
        assert_eq!(
            search(&alone, "acme", &lexical("FileHash chunk"))
                .repos
                .len(),
            1
        );
    }
    assert_eq!(shards.active_generations("acme").unwrap().len(), 2);
}
