//! The server's view of itself over real HTTP: `/metrics` read by a Prometheus text
//! parser, the response cache, per-client rate limits, and the dashboard's page, state
//! and live events, behind the same token and Host rules as `/mcp`.

mod support;

use std::time::{Duration, Instant};

use scry_mcp::{HttpOptions, RateLimit};
use serde_json::{Value, json};
use support::*;

async fn http_client(shared: std::sync::Arc<scry_mcp::Shared>) -> (Client, Guard, String) {
    let (addr, guard) = http_server(shared, HttpOptions::new("127.0.0.1:0".parse().unwrap())).await;
    let transport =
        rmcp::transport::StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = rmcp::ServiceExt::serve(Recorder::default(), transport)
        .await
        .expect("client initializes over HTTP");
    (client, guard, format!("http://{addr}"))
}

fn sample<'a>(
    scrape: &'a prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a prometheus_parse::Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

/// What `/dashboard/state` says now.
async fn dashboard_state(base: &str) -> Value {
    reqwest::get(format!("{base}/dashboard/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `/metrics` as text and as the Prometheus parser reads it.
async fn scrape(base: &str) -> (String, prometheus_parse::Scrape) {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the Prometheus text format");
    (text, scrape)
}

fn value(s: &prometheus_parse::Sample) -> f64 {
    match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        _ => panic!("{} is not a single value", s.metric),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_parse_as_prometheus_text_and_count_every_call() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (client, _g, base) = http_client(shared.clone()).await;
    for _ in 0..3 {
        ok(&client, "search_code", json!({"query": "parse config"})).await;
    }
    tool_error(&client, "search_code", json!({"query": "x", "k": 0})).await;

    let r = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the Prometheus text format");
    let ok_calls = sample(
        &scrape,
        "scry_calls_total",
        &[("tool", "search_code"), ("outcome", "ok")],
    )
    .unwrap_or_else(|| panic!("no call counter in\n{text}"));
    assert_eq!(value(ok_calls), 3.0);
    let invalid = sample(
        &scrape,
        "scry_calls_total",
        &[("tool", "search_code"), ("outcome", "invalid")],
    )
    .unwrap();
    assert_eq!(value(invalid), 1.0);
    assert_eq!(
        value(sample(&scrape, "scry_errors_total", &[("kind", "invalid")]).unwrap()),
        1.0
    );
    assert_eq!(
        value(sample(&scrape, "scry_cache_hits_total", &[]).unwrap()),
        2.0
    );
    // The first search, and the invalid one (looked up, never stored).
    assert_eq!(
        value(sample(&scrape, "scry_cache_misses_total", &[]).unwrap()),
        2.0
    );
    let latency = sample(
        &scrape,
        "scry_call_duration_seconds",
        &[("tool", "search_code")],
    )
    .expect("a latency histogram");
    match &latency.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let all = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
            assert_eq!(all, 4.0, "every call is in the histogram: {buckets:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }
    assert!(value(sample(&scrape, "scry_index_files", &[]).unwrap()) >= 4.0);
    assert!(value(sample(&scrape, "scry_index_chunks", &[]).unwrap()) >= 10.0);
    assert!(value(sample(&scrape, "scry_index_generation", &[]).unwrap()) >= 1.0);
    assert_eq!(
        value(sample(&scrape, "scry_sessions_open", &[]).unwrap()),
        1.0
    );
    assert!(value(sample(&scrape, "scry_process_resident_bytes", &[]).unwrap()) > 1e6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeated_search_comes_from_the_cache_until_a_file_it_names_changes() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (client, _g, _) = http_client(shared.clone()).await;
    let args = json!({"query": "route request handler", "k": 3});
    let first = ok(&client, "search_code", args.clone()).await;
    // The same request spelled differently (key order) is the same request.
    let second = ok(
        &client,
        "search_code",
        json!({"k": 3, "query": "route request handler"}),
    )
    .await;
    assert_eq!(first, second);
    let cache: Vec<_> = shared.observer.recent().iter().map(|c| c.cache).collect();
    assert_eq!(
        cache,
        [
            scry_mcp::observe::CacheUse::Miss,
            scry_mcp::observe::CacheUse::Hit
        ]
    );
    assert_eq!(first["hits"][0]["path"], "src/server.rs");
    assert_eq!(first["hits"][0]["stale"], false);

    // The file changes on disk and nothing re-indexes it (no watcher): the cached answer
    // would say it is current; the server must not serve it.
    write(
        &fx.ws(),
        "src/server.rs",
        "pub fn route_request() {}\n// changed\n",
    );
    let third = ok(&client, "search_code", args).await;
    assert_eq!(third["hits"][0]["path"], "src/server.rs");
    assert_eq!(third["hits"][0]["stale"], true, "{third}");
    assert_eq!(
        shared.observer.recent().last().unwrap().cache,
        scry_mcp::observe::CacheUse::Miss
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flooding_client_is_refused_with_a_retry_time_and_another_is_served() {
    let fx = Fixture::new();
    let mut opts = fx.options(no_models(), false);
    opts.observe.rate_limit = Some(RateLimit {
        per_second: 2.0,
        burst: 5.0,
    });
    let shared = scry_mcp::start(opts).unwrap();
    wait_indexed(&shared).await;
    let (addr, _g) = http_server(
        shared.clone(),
        HttpOptions::new("127.0.0.1:0".parse().unwrap()),
    )
    .await;
    let connect = || async {
        let transport =
            rmcp::transport::StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
        rmcp::ServiceExt::serve(Recorder::default(), transport)
            .await
            .unwrap()
    };
    let flooder = connect().await;
    let polite = connect().await;
    let mut refused = None;
    let mut served = 0;
    for i in 0..20 {
        let r = call(
            &flooder,
            "find_symbol",
            json!({"name": format!("widget_{i}")}),
        )
        .await;
        if r.is_error == Some(true) {
            refused = Some(r);
        } else {
            served += 1;
        }
    }
    let refused = refused.expect("20 calls at once are over a burst of 5");
    assert!((5..=7).contains(&served), "{served} served");
    let text = text_of(&refused);
    assert!(
        text.contains("rate limited") && text.contains("retry after"),
        "{text}"
    );
    let retry = refused.structured_content.unwrap()["retry_after_ms"]
        .as_u64()
        .unwrap();
    assert!((1..=500).contains(&retry), "{retry}");
    ok(&polite, "find_symbol", json!({"name": "widget"})).await;
    // After the wait, the flooder is served again.
    tokio::time::sleep(Duration::from_millis(retry + 50)).await;
    ok(&flooder, "find_symbol", json!({"name": "widget"})).await;
    let limited = shared.observer.totals().rate_limited;
    assert_eq!(limited as usize, 20 - served);
}

/// Reads server-sent events until one named `name` arrives; its data.
async fn next_event(resp: &mut reqwest::Response, name: &str, buf: &mut String) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let mut kind = "message";
            let mut data = String::new();
            for line in event.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if kind == name {
                return serde_json::from_str(&data).unwrap();
            }
        }
        assert!(Instant::now() < deadline, "no {name} event");
        let chunk = tokio::time::timeout(TIMEOUT, resp.chunk())
            .await
            .expect("the stream is live")
            .unwrap()
            .expect("the stream stays open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_serves_its_page_state_and_live_calls() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (client, _g, base) = http_client(shared.clone()).await;

    let page = reqwest::get(format!("{base}/dashboard")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("EventSource(\"/dashboard/events\")"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );

    let mut events = reqwest::get(format!("{base}/dashboard/events"))
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut buf = String::new();
    ok(&client, "search_code", json!({"query": "retry backoff"})).await;
    let call = next_event(&mut events, "call", &mut buf).await;
    assert_eq!(call["tool"], "search_code");
    assert_eq!(call["outcome"], "ok");
    assert_eq!(call["mode"], "lexical");
    assert!(call["results"].as_u64().unwrap() >= 1);
    let state = next_event(&mut events, "state", &mut buf).await;
    assert_eq!(
        state["status"]["files"].as_u64().unwrap(),
        shared.engine().status().files as u64
    );
    assert_eq!(state["totals"]["calls"], 1);
    assert_eq!(state["recent"][0]["tool"], "search_code");

    let st: Value = dashboard_state(&base).await;
    assert_eq!(st["sessions_open"], 1);
    assert!(st["status"]["generation"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_keeps_the_token_and_host_rules() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let mut opts = HttpOptions::new("127.0.0.1:0".parse().unwrap());
    opts.token = Some("s3cret-token".into());
    let (addr, _g) = http_server(shared, opts).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/dashboard",
        "/dashboard/state",
        "/dashboard/events",
        "/metrics",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
    }
    let wrong = http
        .get(format!("{base}/dashboard?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let r = http
        .get(format!("{base}/dashboard?token=s3cret-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let st = http
        .get(format!("{base}/dashboard/state"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(st.status(), 200, "the page's own requests carry the cookie");
    // The token in a query string is only for opening the page.
    let q = http
        .get(format!("{base}/metrics?token=s3cret-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(q.status(), 401);
    let m = http
        .get(format!("{base}/metrics"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(m.status(), 200);
    // DNS rebinding: a foreign Host is refused even with the token.
    let rebound = http
        .get(format!("{base}/dashboard/state"))
        .bearer_auth("s3cret-token")
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_shows_its_tokens_its_rate_and_the_model_that_wrote_it() {
    let fx = Fixture::new();
    let shared = fx.start(chat_models(), false).await;
    let (client, _g, base) = http_client(shared.clone()).await;
    let a = ok(
        &client,
        "ask",
        json!({"question": "What does parse_config return?", "budget": 400}),
    )
    .await;
    assert_eq!(a["answered"], true, "{a}");
    let written = a["tokens_out"].as_u64().unwrap();
    assert!(written > 0);

    let st: Value = dashboard_state(&base).await;
    let call = &st["recent"][0];
    assert_eq!(call["tool"], "ask");
    assert_eq!(call["answer_tokens"], written);
    assert!(call["answer_tokens_per_second"].as_f64().unwrap() > 0.0);
    let loaded = st["loaded_models"].as_array().unwrap();
    let smol = loaded
        .iter()
        .find(|m| m["backend"] == "llama.cpp" && m["name"].as_str().unwrap().contains("SmolLM2"))
        .unwrap_or_else(|| panic!("{loaded:?}"));
    // The weights llama.cpp holds are the file less its metadata.
    let file = std::fs::metadata(smol["location"].as_str().unwrap())
        .unwrap()
        .len() as f64;
    let weights = smol["weights_bytes"].as_f64().unwrap();
    assert!(
        weights > 0.8 * file && weights <= file,
        "{weights} of {file}"
    );
    assert!(smol["kv_cache_bytes"].as_u64().unwrap() > 0, "{smol}");

    let (text, scrape) = scrape(&base).await;
    assert_eq!(
        value(sample(&scrape, "scry_answer_tokens_total", &[]).unwrap()),
        written as f64
    );
    assert!(value(sample(&scrape, "scry_answer_tokens_per_second", &[]).unwrap()) > 0.0);
    let name = smol["name"].as_str().unwrap();
    let memory = sample(
        &scrape,
        "scry_model_memory_bytes",
        &[("model", name), ("part", "weights")],
    )
    .unwrap_or_else(|| panic!("no model memory in\n{text}"));
    assert_eq!(value(memory), weights);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_lists_what_other_faces_wrote_to_the_activity_journal() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (client, _g, base) = http_client(shared.clone()).await;
    let journal = scry_journal::Journal::new(shared.engine().index_dir());
    // An editor's `scry lsp` (another process) finished a search.
    let mut editor =
        scry_journal::Activity::new(scry_journal::Face::Lsp, "editor", "scry/search", 3.5);
    editor.pid = std::process::id() + 1;
    editor.id = 7;
    editor.mode = Some("hybrid".into());
    editor.results = Some(12);
    journal.append(&editor);
    // This server's own call goes to the journal too, for other dashboards.
    ok(&client, "search_code", json!({"query": "retry backoff"})).await;
    let written = std::fs::read_to_string(journal.path()).unwrap();
    let own: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["pid"] == std::process::id())
        .collect();
    assert_eq!(own.len(), 1, "{written}");
    assert_eq!(own[0]["face"], "mcp");
    assert_eq!(own[0]["tool"], "search_code");

    let started = Instant::now();
    let st = loop {
        let st: Value = dashboard_state(&base).await;
        let recent = st["recent"].as_array().unwrap();
        if recent.iter().any(|c| c["face"] == "lsp") {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the editor's call never showed: {st}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let recent = st["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 2, "each call once: {recent:?}");
    let lsp = recent.iter().find(|c| c["face"] == "lsp").unwrap();
    assert_eq!(lsp["tool"], "scry/search");
    assert_eq!(lsp["results"], 12);
    assert_eq!(lsp["pid"], std::process::id() + 1);
    assert_eq!(st["totals"]["calls"], 2);

    let (text, scrape) = scrape(&base).await;
    let by_face = |face| {
        sample(
            &scrape,
            "scry_calls_total",
            &[("face", face), ("outcome", "ok")],
        )
        .map(value)
        .unwrap_or(0.0)
    };
    assert_eq!((by_face("lsp"), by_face("mcp")), (1.0, 1.0), "{text}");
}
