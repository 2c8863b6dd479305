//! The shared store from the command line, on a real Postgres with the real embedding
//! model: `scry index --store` publishes a workspace as a repository (its fast-tier
//! vectors with it), two indexers of one repository take turns, and `scry search
//! --store` searches every repository of the organisation with the engine's ranking.

#[path = "../../server/store-pg/tests/pg/mod.rs"]
mod pg;

use scry_test_support::{Sandbox, embed_model};
use serde_json::Value;

/// `scry index --store` of the sandbox's workspace as `acme`/`repo`, with the real
/// model (`model`: its path).
fn index_args<'a>(model: &'a str, url: &'a str, repo: &'a str) -> [&'a str; 10] {
    [
        "--embed-model",
        model,
        "index",
        "--json",
        "--store",
        url,
        "--org",
        "acme",
        "--repo",
        repo,
    ]
}

fn publish(s: &Sandbox, url: &str, repo: &str) -> Value {
    let m = embed_model().to_string_lossy().into_owned();
    s.json(&index_args(&m, url, repo))["published"].clone()
}

fn search(s: &Sandbox, url: &str, extra: &[&str], query: &str) -> Value {
    let m = embed_model().to_string_lossy().into_owned();
    let mut args = vec![
        "--embed-model",
        &m,
        "search",
        "--json",
        "--store",
        url,
        "--org",
        "acme",
    ];
    args.extend_from_slice(extra);
    args.push(query);
    s.json(&args)
}

#[test]
fn indexers_publish_repositories_and_a_search_of_the_store_ranks_them_all() {
    let pg = pg::Postgres::start();
    let url = pg.url();
    let api = Sandbox::new();
    api.write(
        "src/retry.rs",
        "/// Retries a failing request with exponential backoff.\npub fn retry_with_backoff(attempts: u32) -> u32 {\n    attempts * 2\n}\n",
    );
    api.write("tests/retry_test.rs", "#[test]\nfn retry_with_backoff_doubles() {\n    assert_eq!(retry_with_backoff(2), 4);\n}\n");
    let web = Sandbox::new();
    web.write(
        "app/checkout.ts",
        "// Renders the checkout page and submits the order.\nexport function renderCheckout(order: Order) {\n  return submitOrder(order);\n}\n",
    );
    let p = publish(&api, &url, "api");
    assert_eq!(
        (p["repository"].as_str(), p["generation"].as_i64()),
        (Some("api"), Some(1))
    );
    assert!(p["chunks"].as_u64().unwrap() >= 2);
    // Every chunk carries its fast-tier vector (the static table of the model).
    assert_eq!(p["vectors"], p["chunks"]);
    assert!(p["model"].as_str().unwrap().starts_with("static"), "{p}");
    publish(&web, &url, "web");

    let r = search(&api, &url, &[], "retry with backoff");
    assert_eq!(r["mode"], "hybrid", "{r}");
    let top = &r["results"][0];
    assert_eq!(
        (top["root"].as_str(), top["path"].as_str()),
        (Some("api"), Some("src/retry.rs")),
        "{r}"
    );
    // The ranking stage ran: the implementation above its test, named by definition.
    assert_eq!(top["symbol"], "retry_with_backoff");
    assert!(top["ranks"]["fast"].is_u64(), "{top}");
    let names: Vec<&str> = r["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"]);
    // By meaning across repositories, and narrowed to one.
    let r = search(&api, &url, &[], "checkout page order");
    assert_eq!(r["results"][0]["root"], "web", "{r}");
    let r = search(&api, &url, &["--repo", "api"], "checkout page order");
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["root"] == "api"),
        "{r}"
    );

    // Two indexing machines (each its own local index) publish one repository at once:
    // one writes, the other waits its turn; each publishes a whole generation.
    let m = embed_model().to_string_lossy().into_owned();
    let other_machine = tempfile::tempdir().unwrap();
    let other_index = other_machine.path().to_string_lossy().into_owned();
    let args = index_args(&m, &url, "api");
    let first = api
        .cmd(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut second_args = vec!["--index-dir", &other_index];
    second_args.extend_from_slice(&args);
    let second = api
        .cmd(&second_args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut generations: Vec<i64> = [first, second]
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["published"]["generation"].as_i64().unwrap()
        })
        .collect();
    generations.sort();
    assert_eq!(
        generations,
        [2, 3],
        "each indexer published its own generation"
    );
    let r = search(&api, &url, &["--repo", "api"], "retry with backoff");
    assert_eq!(r["results"][0]["generation"], 3);

    // Without the model here, the store is still searchable by BM25, and says so.
    let out = api.run(&[
        "--no-model",
        "search",
        "--json",
        "--store",
        &url,
        "--org",
        "acme",
        "retry backoff",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "lexical");
    assert_eq!(v["results"][0]["path"], "src/retry.rs");
}

/// A POST of an MCP `initialize` to `/mcp`; the response's status line and body.
fn initialize(addr: &str, token: Option<&str>) -> (String, String) {
    use std::io::{Read, Write};
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{auth}Content-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn one_store_server_admits_only_the_tokens_of_its_organisations() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let pg = pg::Postgres::start();
    let url = pg.url();
    let api = Sandbox::new();
    api.write("src/lib.rs", "pub fn retry_with_backoff() {}\n");
    publish(&api, &url, "api");
    let tokens = api.dir.path().join("org-tokens");
    std::fs::write(&tokens, "# org token\nacme acme-token-0123456789\n").unwrap();
    // Readable by others: refused before anything is served.
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let tokens_arg = tokens.to_string_lossy().into_owned();
    let args = [
        "--no-model",
        "serve",
        "--store",
        &url,
        "--org-tokens",
        &tokens_arg,
        "--http",
        "127.0.0.1:0",
    ];
    let out = api.run(&args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut serve = api
        .cmd(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(serve.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "scry serve --store exited"
        );
        if let Some(i) = line.find("http://") {
            let url = line[i + "http://".len()..].trim();
            break url.trim_end_matches("/mcp").to_owned();
        }
    };
    assert!(initialize(&addr, None).0.contains("401"));
    assert!(
        initialize(&addr, Some("acme-token-0123456780"))
            .0
            .contains("401")
    );
    let (status, body) = initialize(&addr, Some("acme-token-0123456789"));
    assert!(status.contains("200"), "{status} {body}");
    assert!(body.contains("\"serverInfo\""), "{body}");
    serve.kill().unwrap();
    let _ = serve.wait();
}

/// Copies a real repository of the quality benchmark into the sandbox: big enough that
/// publishing it takes more than one batch.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&src, &dst);
        } else if e.file_type().unwrap().is_file() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[test]
fn an_indexer_killed_mid_publish_leaves_no_visible_rows_and_no_lock() {
    let pg = pg::Postgres::start();
    let url = pg.url();
    let s = Sandbox::new();
    let zod = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/bench-quality/repos/zod");
    copy_tree(&zod, &s.ws());
    let first = publish(&s, &url, "zod");
    let chunks = first["chunks"].as_i64().unwrap();
    assert!(chunks > 2_000, "more than one batch: {chunks}");
    let store = scry_store_pg::BlockingPgStore::open_existing(&url).unwrap();
    let rows_of = |generation: i64| -> i64 {
        store.block_on(async {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            let task = tokio::spawn(conn);
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM scry_chunks WHERE generation = $1",
                    &[&generation],
                )
                .await
                .unwrap()
                .get(0);
            drop(c);
            let _ = task.await;
            n
        })
    };
    // The second publish is killed once its first batch is in: -9, nothing to clean up.
    let m = embed_model().to_string_lossy().into_owned();
    let args = index_args(&m, &url, "zod");
    let mut indexer = s
        .cmd(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while rows_of(2) == 0 {
        assert!(
            indexer.try_wait().unwrap().is_none(),
            "the publish ended before it could be killed"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no batch arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    unsafe { libc::kill(indexer.id() as i32, libc::SIGKILL) };
    let _ = indexer.wait();
    assert!(rows_of(2) > 0, "its rows are there, but not active");
    // Searches read generation 1 only.
    let r = search(
        &s,
        &url,
        &["--repo", "zod", "-k", "20"],
        "object schema shape",
    );
    let hits = r["results"].as_array().unwrap();
    assert!(
        !hits.is_empty() && hits.iter().all(|h| h["generation"] == 1),
        "{r}"
    );
    // The lock died with its connection: the next indexer publishes at once, generation 2
    // again, the killed one's rows gone.
    let again = publish(&s, &url, "zod");
    assert_eq!(again["generation"], 2);
    assert_eq!(rows_of(2), again["chunks"].as_i64().unwrap());
    assert_eq!(rows_of(1), 0, "the old generation went with the switch");
}
