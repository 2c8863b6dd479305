//! The Postgres store on a real PostgreSQL 17 with pg_search and pgvector: generations
//! made active in one step, one writer per repository, killed writers, and
//! organisations kept apart by the database itself.

mod pg;

use std::time::{Duration, Instant};

use pg::Postgres;
use scry_engine::{FileHash, Span, StoredChunk};
use scry_store_pg::{ChunkRow, Hit, PgStore, RepoFilter, StoreError};

/// The model the tests' vectors are said to come from.
const MODEL: &str = "test-model";

fn chunk(path: &str, content: &str, embedding: [f32; 3]) -> ChunkRow {
    ChunkRow {
        chunk: StoredChunk {
            root: 0,
            path: path.into(),
            span: Span::new(0, content.len(), 1, content.lines().count().max(1) as u32),
            symbol: None,
            scope: None,
            context: None,
            text: content.into(),
            kind: "function".into(),
            language: "rust".into(),
            definitions: Vec::new(),
            vec_key: blake3_key(content),
            file_hash: FileHash::of(path.as_bytes()),
        },
        embedding: Some(embedding.to_vec()),
    }
}

fn blake3_key(text: &str) -> u64 {
    // Any stable key per text; the store only keeps it.
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

async fn index(store: &PgStore, org: &str, repo: &str, chunks: &[ChunkRow]) -> i64 {
    let mut w = store.writer(org, repo).await.unwrap();
    w.add(chunks).await.unwrap();
    w.commit().await.unwrap()
}

fn paths(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.path.as_str()).collect()
}

#[tokio::test]
async fn a_committed_generation_is_searchable_by_bm25_and_by_vector() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    let generation = index(
        &store,
        "acme",
        "api",
        &[
            chunk(
                "src/retry.rs",
                "pub fn retry_with_backoff() { sleep(backoff) }",
                [1.0, 0.0, 0.0],
            ),
            chunk("src/config.rs", "pub fn parse_config() {}", [0.0, 1.0, 0.0]),
        ],
    )
    .await;
    assert_eq!(generation, 1);
    let hits = store
        .search_lexical("acme", &RepoFilter::All, "retry backoff", 10)
        .await
        .unwrap();
    assert_eq!(paths(&hits), ["src/retry.rs"]);
    assert_eq!((hits[0].repo.as_str(), hits[0].generation), ("api", 1));
    assert!(hits[0].score > 0.0);
    // Query syntax is text, not pg_search's language.
    let odd = store
        .search_lexical("acme", &RepoFilter::All, "retry) AND: \"'", 10)
        .await
        .unwrap();
    assert_eq!(paths(&odd), ["src/retry.rs"]);
    let near = store
        .search_vector("acme", &RepoFilter::All, &[0.1, 0.9, 0.0], 1)
        .await
        .unwrap();
    assert_eq!(paths(&near), ["src/config.rs"]);
    assert!(near[0].score > 0.9, "{near:?}");
    let wrong = store
        .search_vector("acme", &RepoFilter::All, &[1.0], 1)
        .await;
    assert!(matches!(
        wrong,
        Err(StoreError::VectorLength { got: 1, want: 3 })
    ));
}

#[tokio::test]
async fn a_search_never_sees_an_unfinished_generation_and_the_switch_is_one_step() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    index(
        &store,
        "acme",
        "api",
        &[chunk("old.rs", "quokka", [1.0, 0.0, 0.0])],
    )
    .await;
    let mut w = store.writer("acme", "api").await.unwrap();
    assert_eq!(w.generation(), 2);
    w.add(&[chunk("new.rs", "zebra", [1.0, 0.0, 0.0])])
        .await
        .unwrap();
    let find = |q: &'static str| {
        let store = &store;
        async move {
            paths(
                &store
                    .search_lexical("acme", &RepoFilter::All, q, 10)
                    .await
                    .unwrap(),
            )
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
        }
    };
    assert!(find("zebra").await.is_empty(), "written, not committed");
    assert_eq!(find("quokka").await, ["old.rs"]);
    assert_eq!(w.commit().await.unwrap(), 2);
    assert_eq!(find("zebra").await, ["new.rs"]);
    assert!(find("quokka").await.is_empty());
    assert_eq!(
        store.active_generation("acme", "api").await.unwrap(),
        Some(2)
    );
}

#[tokio::test]
async fn one_writer_per_repository_and_a_killed_one_leaves_no_lock_and_no_rows() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    index(
        &store,
        "acme",
        "api",
        &[chunk("kept.rs", "kept_marker", [1.0, 0.0, 0.0])],
    )
    .await;
    let mut first = store.writer("acme", "api").await.unwrap();
    let second = store.writer("acme", "api").await;
    assert!(matches!(second, Err(StoreError::Locked { .. })));
    // Another repository is another lock.
    store.writer("acme", "web").await.unwrap();
    first
        .add(&[chunk("partial.rs", "partial_marker", [0.0, 1.0, 0.0])])
        .await
        .unwrap();
    // The indexer's machine dies: its server process goes, as a kill -9 would take it.
    let pid = first.backend_pid().await.unwrap();
    let killer = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    let store_url = pg.url();
    let (client, conn) = tokio_postgres::connect(&store_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    std::mem::forget(first);
    // Its lock goes with it; the next writer removes what it left.
    let started = Instant::now();
    let next = loop {
        match killer.writer("acme", "api").await {
            Ok(w) => break w,
            Err(StoreError::Locked { .. }) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(next.generation(), 2);
    let leftovers: i64 = client
        .query_one(
            "SELECT count(*) FROM scry_chunks WHERE content = 'partial_marker'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    let hits = store
        .search_lexical("acme", &RepoFilter::All, "kept_marker partial_marker", 10)
        .await
        .unwrap();
    assert_eq!(paths(&hits), ["kept.rs"]);
    assert_eq!(
        store.active_generation("acme", "api").await.unwrap(),
        Some(1)
    );
}

#[tokio::test]
async fn organisations_see_only_their_own_code_and_the_database_enforces_it() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    index(
        &store,
        "acme",
        "api",
        &[chunk("a.rs", "shared_word acme_secret", [1.0, 0.0, 0.0])],
    )
    .await;
    index(
        &store,
        "globex",
        "api",
        &[chunk("g.rs", "shared_word globex_secret", [1.0, 0.0, 0.0])],
    )
    .await;
    let acme = store
        .search_lexical("acme", &RepoFilter::All, "shared_word globex_secret", 10)
        .await
        .unwrap();
    assert_eq!(paths(&acme), ["a.rs"]);
    let near = store
        .search_vector("globex", &RepoFilter::All, &[1.0, 0.0, 0.0], 10)
        .await
        .unwrap();
    assert_eq!(paths(&near), ["g.rs"]);
    // Not only the application's filter: as the reader role, a query with no filter
    // at all sees one organisation's rows, and none without an organisation.
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let visible = |org: Option<&'static str>| {
        let client = &client;
        async move {
            client
                .batch_execute("BEGIN; SET LOCAL ROLE scry_reader")
                .await
                .unwrap();
            if let Some(org) = org {
                client
                    .execute("SELECT set_config('scry.org', $1, true)", &[&org])
                    .await
                    .unwrap();
            }
            let rows = client
                .query("SELECT content FROM scry_chunks ORDER BY content", &[])
                .await
                .unwrap();
            client.batch_execute("ROLLBACK").await.unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(Some("acme")).await, ["shared_word acme_secret"]);
    assert_eq!(visible(Some("globex")).await, ["shared_word globex_secret"]);
    assert!(visible(None).await.is_empty());
}

#[tokio::test]
async fn a_search_spans_every_repository_or_the_ones_named() {
    let pg = Postgres::start();
    let store = PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    index(
        &store,
        "acme",
        "api",
        &[chunk("api.rs", "router_marker", [1.0, 0.0, 0.0])],
    )
    .await;
    index(
        &store,
        "acme",
        "web",
        &[chunk("web.ts", "router_marker", [1.0, 0.0, 0.0])],
    )
    .await;
    let mut all: Vec<String> = store
        .search_lexical("acme", &RepoFilter::All, "router_marker", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.repo)
        .collect();
    all.sort();
    assert_eq!(all, ["api", "web"]);
    let web = store
        .search_lexical(
            "acme",
            &RepoFilter::Only(vec!["web".into()]),
            "router_marker",
            10,
        )
        .await
        .unwrap();
    assert_eq!(paths(&web), ["web.ts"]);
}

#[tokio::test]
async fn a_store_made_for_other_vectors_is_refused_clearly() {
    let pg = Postgres::start();
    PgStore::open(&pg.url(), 3, MODEL).await.unwrap();
    // A second open of the same store (another process) finds it as it is.
    assert_eq!(PgStore::open(&pg.url(), 3, MODEL).await.unwrap().dims(), 3);
    match PgStore::open(&pg.url(), 384, MODEL).await {
        Err(
            e @ StoreError::Dimensions {
                stored: 3,
                asked: 384,
            },
        ) => {
            assert!(e.to_string().contains("3-dimension"), "{e}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened a 3-dimension store for 384-dimension vectors"),
    }
    let bad = PgStore::open(&pg.url(), 3, MODEL)
        .await
        .unwrap()
        .writer("acme", "")
        .await;
    assert!(matches!(bad, Err(StoreError::Name(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_searches_of_two_organisations_on_one_store_never_cross() {
    let pg = Postgres::start();
    let store = std::sync::Arc::new(PgStore::open(&pg.url(), 3, MODEL).await.unwrap());
    index(
        &store,
        "acme",
        "api",
        &[chunk("a.rs", "shared_word", [1.0, 0.0, 0.0])],
    )
    .await;
    index(
        &store,
        "globex",
        "api",
        &[chunk("g.rs", "shared_word", [1.0, 0.0, 0.0])],
    )
    .await;
    let searches = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let (org, want) = if i % 2 == 0 {
                ("acme", "a.rs")
            } else {
                ("globex", "g.rs")
            };
            let hits = store
                .search_lexical(org, &RepoFilter::All, "shared_word", 10)
                .await
                .unwrap();
            assert_eq!(paths(&hits), [want], "{org}");
        })
    });
    for s in searches {
        s.await.unwrap();
    }
}
