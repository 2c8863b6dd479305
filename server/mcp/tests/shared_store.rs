//! `scry serve --store`'s face: an rmcp client over real HTTP searching an
//! organisation's repositories in a real Postgres store, which the local engine indexed
//! and published; another organisation's server sees none of it.

#[path = "../../store-pg/tests/pg/mod.rs"]
mod pg;
mod support;

use std::sync::Arc;

use scry_engine::{Engine, EngineConfig, Fusion, Tier};
use scry_mcp::{HttpOptions, Orgs, StoreState};
use scry_store_pg::{BlockingPgStore, ChunkRow};
use serde_json::json;
use support::*;

/// Indexes `ws` with the local engine (BM25) and publishes it as `org`/`repo`.
fn publish(store: &BlockingPgStore, org: &str, repo: &str, ws: &std::path::Path) {
    let idx = tempfile::tempdir().unwrap();
    let engine =
        Engine::open_lexical(EngineConfig::builder([ws]).index_dir(idx.path()).build()).unwrap();
    engine.refresh(&Default::default(), &mut |_| {}).unwrap();
    let rows: Vec<ChunkRow> = engine
        .snapshot()
        .export(Tier::Fast)
        .unwrap()
        .chunks
        .into_iter()
        .map(|(chunk, embedding)| ChunkRow { chunk, embedding })
        .collect();
    store.block_on(async {
        let mut w = store.store().writer(org, repo).await.unwrap();
        w.add(&rows).await.unwrap();
        w.commit().await.unwrap();
    });
}

fn state(url: &str, orgs: Orgs) -> Arc<StoreState> {
    Arc::new(StoreState {
        store: BlockingPgStore::open_existing(url).unwrap(),
        orgs,
        embedder: None,
        query_prefix: String::new(),
        fusion: Fusion::Rrf,
        rrf_k: 60.0,
        permits: tokio::sync::Semaphore::new(4),
    })
}

/// Serves `state` on a free port; its address and what stops it.
async fn serve(
    state: Arc<StoreState>,
) -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
    let opts = HttpOptions::new("127.0.0.1:0".parse().unwrap());
    let shutdown = opts.shutdown.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        scry_mcp::serve_store_http(state, opts, move |a| {
            let _ = tx.send(a);
        })
        .await
        .unwrap();
    });
    (rx.await.unwrap(), shutdown)
}

/// An rmcp client of the server at `addr`, sending `token` if given.
async fn connect(addr: std::net::SocketAddr, token: Option<&str>) -> Client {
    let mut config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            format!("http://{addr}/mcp"),
        );
    if let Some(t) = token {
        config = config.auth_header(t.to_owned());
    }
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
    rmcp::ServiceExt::serve(Recorder::default(), transport)
        .await
        .expect("client initializes over HTTP")
}

async fn client_of(state: Arc<StoreState>) -> (Client, tokio_util::sync::CancellationToken) {
    let (addr, shutdown) = serve(state).await;
    (connect(addr, None).await, shutdown)
}

#[test]
fn an_agent_searches_an_organisations_repositories_in_the_shared_store() {
    let pg = pg::Postgres::start();
    let fixture = Fixture::new();
    let web = tempfile::tempdir().unwrap();
    write(
        web.path(),
        "app/checkout.ts",
        "// Renders the checkout page and submits the order.\nexport function renderCheckout(order: Order) {\n  return submitOrder(order);\n}\n",
    );
    let store = BlockingPgStore::open(&pg.url(), 3, "test-model").unwrap();
    publish(&store, "acme", "api", &fixture.ws());
    publish(&store, "acme", "web", web.path());
    publish(&store, "globex", "secret", web.path());
    let (acme, globex) = (
        state(&pg.url(), Orgs::One("acme".into())),
        state(&pg.url(), Orgs::One("globex".into())),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (client, stop) = client_of(acme).await;
        let tools = client.list_all_tools().await.unwrap();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["search_code", "index_status"]);
        // Across every repository: each hit names its own.
        let r = ok(
            &client,
            "search_code",
            json!({"query": "retry backoff", "k": 5}),
        )
        .await;
        assert_eq!(r["hits"][0]["path"], "src/server.rs", "{r}");
        assert_eq!(r["hits"][0]["root"], "api");
        assert_eq!(r["hits"][0]["generation"], 1);
        assert_eq!(r["mode"], "lexical");
        let repos: Vec<&str> = r["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(repos, ["api", "web"]);
        let r = ok(
            &client,
            "search_code",
            json!({"query": "render checkout order"}),
        )
        .await;
        assert_eq!(r["hits"][0]["root"], "web", "{r}");
        assert_eq!(r["hits"][0]["symbol"], "renderCheckout");
        // Only the repositories named; a name never published says so.
        let r = ok(
            &client,
            "search_code",
            json!({"query": "render checkout order", "repos": ["api", "nope"]}),
        )
        .await;
        assert!(
            r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["root"] == "api"),
            "{r}"
        );
        assert!(r["notices"].to_string().contains("nope"), "{r}");
        let status = ok(&client, "index_status", json!({})).await;
        assert_eq!(status["organisation"], "acme");
        assert_eq!(status["repositories"].as_array().unwrap().len(), 2);
        assert_eq!(status["search_mode"], "lexical");
        // Bad arguments are the caller's to fix.
        let e = tool_error(&client, "search_code", json!({"query": "x", "k": 0})).await;
        assert!(e.contains("k must be"), "{e}");
        let e = tool_error(&client, "search_code", json!({"query": ""})).await;
        assert!(e.contains("empty"), "{e}");
        stop.cancel();
        // Another organisation's server: the database keeps acme's code from it.
        let (client, stop) = client_of(globex).await;
        let r = ok(
            &client,
            "search_code",
            json!({"query": "retry backoff render checkout"}),
        )
        .await;
        assert!(
            r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["root"] == "secret"),
            "{r}"
        );
        let status = ok(&client, "index_status", json!({})).await;
        assert_eq!(status["repositories"].as_array().unwrap().len(), 1);
        stop.cancel();
    });
}

#[test]
fn one_server_answers_each_caller_for_the_organisation_its_token_names() {
    let pg = pg::Postgres::start();
    let fixture = Fixture::new();
    let web = tempfile::tempdir().unwrap();
    write(
        web.path(),
        "app/checkout.ts",
        "export function renderCheckout() {}\n",
    );
    let store = BlockingPgStore::open(&pg.url(), 3, "test-model").unwrap();
    publish(&store, "acme", "api", &fixture.ws());
    publish(&store, "globex", "web", web.path());
    const ACME: &str = "acme-token-0123456789";
    const GLOBEX: &str = "globex-token-0123456789";
    let shared = state(
        &pg.url(),
        Orgs::ByToken(vec![
            (ACME.into(), "acme".into()),
            (GLOBEX.into(), "globex".into()),
        ]),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (addr, shutdown) = serve(shared).await;
        let acme = connect(addr, Some(ACME)).await;
        let globex = connect(addr, Some(GLOBEX)).await;
        let status = ok(&acme, "index_status", json!({})).await;
        assert_eq!(status["organisation"], "acme");
        let status = ok(&globex, "index_status", json!({})).await;
        assert_eq!(status["organisation"], "globex");
        let r = ok(&acme, "search_code", json!({"query": "retry backoff render checkout"})).await;
        assert!(r["hits"].as_array().unwrap().iter().all(|h| h["root"] == "api"), "{r}");
        let r = ok(&globex, "search_code", json!({"query": "retry backoff render checkout"})).await;
        let roots: Vec<&str> = r["hits"].as_array().unwrap().iter().map(|h| h["root"].as_str().unwrap()).collect();
        assert_eq!(roots, ["web"], "{r}");
        // No token, or one not listed: refused at the door.
        for bad in [None, Some("acme-token-0123456780")] {
            let mut req = reqwest::Client::new()
                .post(format!("http://{addr}/mcp"))
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#);
            if let Some(t) = bad {
                req = req.bearer_auth(t);
            }
            assert_eq!(req.send().await.unwrap().status(), 401, "{bad:?}");
        }
        shutdown.cancel();
    });
}
