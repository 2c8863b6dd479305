//! The MCP face through rmcp's own client, over both transports (an in-memory stdio
//! pipe and real streamable HTTP): what an agent sees of each tool.

// MCP logging and roots: deprecated by SEP-2577, still what hosts use.
#![allow(deprecated)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_tool_is_listed_with_schemas_truthful_annotations_and_instructions() {
    let fx = Fixture::new();
    let shared = fx.start(chat_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let info = client.peer_info().expect("initialized");
        assert_eq!(info.server_info.as_ref().unwrap().name, "scry");
        let instructions = info.instructions.clone().unwrap_or_default();
        assert!(
            instructions.contains("Start with `get_context`"),
            "{t:?}: {instructions}"
        );
        assert!(info.capabilities.tools.is_some() && info.capabilities.logging.is_some());

        let tools = client.list_tools(None).await.unwrap().tools;
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "get_context",
                "search_code",
                "find_symbol",
                "read_range",
                "ask",
                "index_status"
            ]
        );
        for tool in &tools {
            let a = tool.annotations.as_ref().expect("annotations");
            assert_eq!(a.read_only_hint, Some(true), "{}", tool.name);
            assert_eq!(a.destructive_hint, Some(false), "{}", tool.name);
            // A local model: ask reaches nothing outside; its answers vary.
            assert_eq!(a.open_world_hint, Some(false), "{}", tool.name);
            assert_eq!(a.idempotent_hint, Some(tool.name != "ask"), "{}", tool.name);
            assert!(
                tool.description.as_ref().unwrap().len() > 150,
                "{}",
                tool.name
            );
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            assert_eq!(
                tool.input_schema["additionalProperties"], false,
                "{}",
                tool.name
            );
            let out = tool.output_schema.as_ref().expect("output schema");
            assert_eq!(out["type"], "object", "{}", tool.name);
        }
        let search = tools.iter().find(|t| t.name == "search_code").unwrap();
        assert_eq!(search.input_schema["required"], json!(["query"]));
        assert_eq!(search.input_schema["properties"]["k"]["maximum"], 50);
        // A cursor tools/list never issued is a protocol error.
        let bad = client
            .list_tools(Some(
                rmcp::model::PaginatedRequestParams::default().with_cursor(Some("x".into())),
            ))
            .await;
        assert!(bad.is_err(), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_code_returns_located_hits_with_provenance_and_pages_by_cursor() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let r = ok(
            &client,
            "search_code",
            json!({"query": "route_request", "k": 3}),
        )
        .await;
        let top = &r["hits"][0];
        assert_eq!(top["path"], "src/server.rs", "{t:?}");
        assert_eq!(top["symbol"], "route_request");
        assert_eq!(
            (top["start_line"].as_u64(), top["end_line"].as_u64()),
            (Some(3), Some(12))
        );
        assert!(
            top["snippet"]
                .as_str()
                .unwrap()
                .contains("pub fn route_request")
        );
        assert_eq!(top["stale"], false);
        assert_eq!(top["provenance"]["lexical_rank"], 1);
        assert_eq!(top["generation"], r["generation"]);
        assert_eq!(top["file_hash"].as_str().unwrap().len(), 32);
        assert_eq!(r["mode"], "lexical");
        assert!(r["notices"][0].as_str().unwrap().contains("BM25-only"));

        // Pages: every widget handler exactly once across pages of 7.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut args =
                json!({"query": "handle widget event", "k": 7, "path_glob": "src/handlers.rs"});
            if let Some(c) = &cursor {
                args["cursor"] = json!(c);
            }
            let page = ok(&client, "search_code", args).await;
            pages += 1;
            for h in page["hits"].as_array().unwrap() {
                seen.push(h["symbol"].as_str().unwrap_or("").to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
            assert!(pages < 20);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a hit repeated across pages");
        for i in 0..30 {
            assert!(
                seen.contains(&format!("handle_widget_event_{i}")),
                "{t:?}: missing {i} in {seen:?}"
            );
        }
        assert!(pages >= 5);
        // A cursor is bound to its query and its tool.
        let first = ok(
            &client,
            "search_code",
            json!({"query": "handle widget event", "k": 2}),
        )
        .await;
        let c = first["next_cursor"].as_str().unwrap();
        let e = tool_error(
            &client,
            "search_code",
            json!({"query": "other words", "cursor": c}),
        )
        .await;
        assert!(e.contains("another query"), "{e}");
        let e = tool_error(
            &client,
            "find_symbol",
            json!({"name": "handle widget event", "cursor": c}),
        )
        .await;
        assert!(e.contains("cursor"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_code_by_file_ranks_files_each_once_with_their_best_ranges() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let r = ok(
            &client,
            "search_code",
            json!({"query": "handle widget event with retries", "k": 2, "by_file": true}),
        )
        .await;
        assert_eq!(r["hits"], json!([]), "{t:?}");
        let files = r["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{t:?}: {files:?}");
        assert_ne!(files[1]["path"], files[0]["path"], "a file placed twice");
        assert!(files[0]["score"].as_f64() >= files[1]["score"].as_f64());
        // The thirty matching handlers come as one file with its three best ranges.
        let handlers = files
            .iter()
            .find(|f| f["path"] == "src/handlers.rs")
            .unwrap_or_else(|| panic!("{t:?}: {files:?}"));
        let ranges = handlers["ranges"].as_array().unwrap();
        assert_eq!(ranges.len(), 3, "{ranges:?}");
        for f in files {
            for h in f["ranges"].as_array().unwrap() {
                assert_eq!(h["path"], f["path"]);
                assert!(h["snippet"].as_str().unwrap().lines().count() <= 12);
            }
        }
        // Pages go over files.
        let next = ok(
            &client,
            "search_code",
            json!({"query": "handle widget event with retries", "cursor": r["next_cursor"]}),
        )
        .await;
        for f in next["files"].as_array().unwrap() {
            assert!(
                files.iter().all(|g| g["path"] != f["path"]),
                "{t:?}: {f} repeated"
            );
        }
        // Without by_file, no `files` at all.
        let plain = ok(&client, "search_code", json!({"query": "route_request"})).await;
        assert!(plain.get("files").is_none(), "{plain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_context_packs_code_into_the_budget_with_sources_and_progress() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), true).await;
    for t in BOTH {
        let rec = Recorder::default();
        let (client, _g) = connect(shared.clone(), t, rec.clone()).await;
        let r = ok(
            &client,
            "get_context",
            json!({"query": "how are settings parsed into a Config", "budget": 300}),
        )
        .await;
        let tokens = r["tokens"].as_u64().unwrap();
        assert!(tokens > 0 && tokens <= 300, "{t:?}: {tokens}");
        assert_eq!(r["budget"], 300);
        assert!(
            r["context"].as_str().unwrap().contains("fn parse_config"),
            "{t:?}: {r}"
        );
        assert!(paths(&r, "sources").contains(&"src/config.rs".to_owned()));
        assert_eq!(r["partial"], false);
        assert!(r["next_cursor"].is_null());
        // Progress notifications came for the call's token, ending at the total (over
        // HTTP the last one may trail the response by a moment).
        let t0 = std::time::Instant::now();
        while rec
            .progress
            .lock()
            .last()
            .is_none_or(|p| Some(p.progress) != p.total)
            && t0.elapsed() < Duration::from_secs(2)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let progress = rec.progress.lock().clone();
        // Computed (the first transport), in steps; from the cache (the second), in one.
        let steps = if t == BOTH[0] { 2 } else { 1 };
        assert!(progress.len() >= steps, "{t:?}: {progress:?}");
        let last = progress.last().unwrap();
        assert_eq!(Some(last.progress), last.total, "{t:?}: {progress:?}");

        // The smallest and a too-small budget.
        let small = ok(
            &client,
            "get_context",
            json!({"query": "parse_config", "budget": 64}),
        )
        .await;
        assert!(small["tokens"].as_u64().unwrap() <= 64);
        let e = tool_error(
            &client,
            "get_context",
            json!({"query": "parse_config", "budget": -5}),
        )
        .await;
        assert!(e.contains("invalid arguments"), "{e}");
        let e = tool_error(
            &client,
            "get_context",
            json!({"query": "parse_config", "budget": 63}),
        )
        .await;
        assert!(e.contains("64..=200000"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deadline_returns_partial_bm25_hits_and_the_cursor_completes_them() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), true).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        // One millisecond cannot cover embedding the query: BM25 hits come back.
        let r = ok(
            &client,
            "search_code",
            json!({"query": "retry with exponential backoff", "deadline_ms": 1}),
        )
        .await;
        assert_eq!(r["partial"], true, "{t:?}: {r}");
        assert_eq!(r["mode"], "lexical");
        assert!(paths(&r, "hits").contains(&"src/server.rs".to_owned()));
        let cursor = r["next_cursor"]
            .as_str()
            .expect("a cursor to resume")
            .to_owned();
        let full = ok(
            &client,
            "search_code",
            json!({"query": "retry with exponential backoff", "cursor": cursor}),
        )
        .await;
        assert_eq!(full["partial"], false);
        assert_eq!(full["mode"], "hybrid");
        assert!(full["hits"][0]["provenance"]["vector_rank"].is_u64());

        let r = ok(
            &client,
            "get_context",
            json!({"query": "retry with exponential backoff", "deadline_ms": 1}),
        )
        .await;
        assert_eq!(r["partial"], true);
        assert!(
            r["context"]
                .as_str()
                .unwrap()
                .contains("retry_with_backoff")
        );
        let c = r["next_cursor"].as_str().unwrap().to_owned();
        let full = ok(
            &client,
            "get_context",
            json!({"query": "retry with exponential backoff", "cursor": c}),
        )
        .await;
        assert_eq!(full["partial"], false);

        let e = tool_error(
            &client,
            "search_code",
            json!({"query": "x", "deadline_ms": 0}),
        )
        .await;
        assert!(e.contains("deadline_ms"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_changed_since_indexing_is_stale_and_read_range_reads_the_disk() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (client, _g) = connect(shared.clone(), Transport::Stdio, Recorder::default()).await;
    let before = ok(
        &client,
        "read_range",
        json!({"path": "src/config.rs", "start_line": 4, "end_line": 4}),
    )
    .await;
    assert_eq!(
        before["text"],
        "pub fn parse_config(text: &str) -> Config {\n"
    );
    assert_eq!(before["stale"], false);
    assert_eq!(before["total_lines"], 16);

    // Change the file; this server does not watch, so the index keeps the old text.
    let p = fx.ws().join("src/config.rs");
    let old = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, format!("// moved down\n{old}")).unwrap();
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let r = ok(&client, "search_code", json!({"query": "parse_config"})).await;
        let hit = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["path"] == "src/config.rs")
            .unwrap();
        assert_eq!(hit["stale"], true, "{t:?}");
        let other = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["path"] == "README.md")
            .unwrap();
        assert_eq!(other["stale"], false);
        let now = ok(
            &client,
            "read_range",
            json!({"path": "src/config.rs", "start_line": 5, "end_line": 5}),
        )
        .await;
        assert_eq!(
            now["text"], "pub fn parse_config(text: &str) -> Config {\n",
            "{t:?}"
        );
        assert_eq!(now["stale"], true);
        let ctx = ok(
            &client,
            "get_context",
            json!({"query": "parse_config settings"}),
        )
        .await;
        let src = ctx["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == "src/config.rs")
            .unwrap();
        assert_eq!(src["stale"], true);
        assert!(
            ctx["notices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().starts_with("stale: src/config.rs")),
            "{ctx}"
        );
        let sym = ok(
            &client,
            "find_symbol",
            json!({"name": "parse_config", "fuzzy": false}),
        )
        .await;
        assert_eq!(sym["symbols"][0]["stale"], true);
        // Without a chat model, ask gives the context: the same sources, as stale.
        let ask = ok(
            &client,
            "ask",
            json!({"question": "What does parse_config return?"}),
        )
        .await;
        assert_eq!(ask["answered"], false);
        let src = ask["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["path"] == "src/config.rs")
            .unwrap();
        assert_eq!(src["stale"], true, "{ask}");
        assert!(
            ask["notices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().starts_with("stale: src/config.rs")),
            "{ask}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn find_symbol_matches_fuzzily_or_exactly_and_pages() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let r = ok(&client, "find_symbol", json!({"name": "rtreq"})).await;
        assert_eq!(r["symbols"][0]["name"], "route_request", "{t:?}");
        assert_eq!(r["symbols"][0]["line"], 4);
        assert_eq!(r["symbols"][0]["path"], "src/server.rs");
        let exact = ok(
            &client,
            "find_symbol",
            json!({"name": "rtreq", "fuzzy": false}),
        )
        .await;
        assert_eq!(exact["symbols"], json!([]));
        let structs = ok(
            &client,
            "find_symbol",
            json!({"name": "Config", "kind": "struct"}),
        )
        .await;
        assert!(
            structs["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["kind"] == "struct")
        );
        assert_eq!(structs["symbols"][0]["name"], "Config");
        let mut all = Vec::new();
        let mut args = json!({"name": "handle_widget_event", "limit": 12});
        loop {
            let page = ok(&client, "find_symbol", args.clone()).await;
            all.extend(
                page["symbols"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["name"].clone()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => args["cursor"] = json!(c),
                None => break,
            }
        }
        assert_eq!(all.len(), 30, "{t:?}: {all:?}");
        let e = tool_error(&client, "find_symbol", json!({"name": ""})).await;
        assert!(e.contains("empty"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn index_status_reports_what_the_index_holds_and_how_fresh_it_is() {
    let fx = Fixture::new();
    let shared = fx.start(chat_models(), true).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let s = ok(&client, "index_status", json!({})).await;
        assert_eq!(s["roots"], json!([fx.ws().display().to_string()]), "{t:?}");
        assert_eq!(s["files"], 5, "{s}");
        assert!(s["chunks"].as_u64().unwrap() > 30);
        assert_eq!(s["vectors"], s["chunks"]);
        assert_eq!(s["search_mode"], "hybrid");
        assert!(s["embedding_model"].as_str().unwrap().contains("MiniLM"));
        assert_eq!(s["role"], "writer");
        assert_eq!(s["freshness"]["indexing"], false);
        assert_eq!(s["freshness"]["files_done"], 5);
        assert!(s["chat_models"][0].as_str().unwrap().contains("SmolLM2"));
        let e = tool_error(&client, "index_status", json!({"verbose": true})).await;
        assert!(e.contains("unknown field"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ask_streams_the_answer_as_progress_and_cites_sources() {
    let fx = Fixture::new();
    let shared = fx.start(chat_models(), false).await;
    let rec = Recorder::default();
    let (client, _g) = connect(shared.clone(), Transport::Stdio, rec.clone()).await;
    let r = ok(
        &client,
        "ask",
        json!({"question": "What does route_request return for an unknown path?", "budget": 1024}),
    )
    .await;
    assert_eq!(r["answered"], true, "{r}");
    assert!(r["model"].as_str().unwrap().contains("SmolLM2"));
    let answer = r["answer"].as_str().unwrap();
    assert!(!answer.trim().is_empty());
    assert!(paths(&r, "sources").contains(&"src/server.rs".to_owned()));
    // The answer arrived in pieces, as progress messages, before the result.
    let streamed: String = rec
        .progress
        .lock()
        .iter()
        .filter_map(|p| p.message.clone())
        .collect();
    assert!(rec.progress.lock().len() >= 3);
    assert_eq!(streamed.trim(), answer.trim());
    drop(client);

    // Without a model: the packed context and a clear notice.
    let fx2 = Fixture::new();
    let shared = fx2.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let r = ok(
            &client,
            "ask",
            json!({"question": "How is the config parsed?"}),
        )
        .await;
        assert_eq!(r["answered"], false, "{t:?}");
        assert!(r["answer"].is_null());
        assert!(r["context"].as_str().unwrap().contains("parse_config"));
        assert!(
            r["notices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("No language model answered"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_notifications_follow_the_level_the_client_sets() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let rec = Recorder::default();
        let (client, _g) = connect(shared.clone(), t, rec.clone()).await;
        ok(&client, "search_code", json!({"query": "parse_config"})).await;
        // Notifications may trail the response on HTTP's stream; give them a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let logs = rec.logs.lock().clone();
        assert!(
            logs.iter()
                .any(|l| l.data.as_str().is_some_and(|d| d.contains("BM25-only"))),
            "{t:?}: {logs:?}"
        );
        client
            .set_level(rmcp::model::SetLevelRequestParams::new(
                rmcp::model::LoggingLevel::Error,
            ))
            .await
            .unwrap();
        rec.logs.lock().clear();
        ok(&client, "search_code", json!({"query": "parse_config"})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(rec.logs.lock().is_empty(), "{t:?}: {:?}", rec.logs.lock());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_calls_are_tool_errors_and_unknown_tools_protocol_errors() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let unknown = client
            .call_tool(rmcp::model::CallToolRequestParams::new("delete_everything"))
            .await;
        let msg = format!("{:?}", unknown.expect_err("unknown tool"));
        assert!(
            msg.contains("-32602") || msg.contains("InvalidParams") || msg.contains("unknown tool"),
            "{t:?}: {msg}"
        );
        for (tool, args, want) in [
            ("search_code", json!({}), "missing field `query`"),
            ("search_code", json!({"query": 5}), "invalid type"),
            (
                "search_code",
                json!({"query": "x", "k": 0}),
                "k must be within",
            ),
            (
                "search_code",
                json!({"query": "x", "mode": "psychic"}),
                "unknown variant",
            ),
            ("search_code", json!({"query": "   "}), "empty"),
            (
                "search_code",
                json!({"query": "x", "path_glob": "src/[z-a"}),
                "glob",
            ),
            (
                "read_range",
                json!({"path": "src/config.rs", "start_line": 0}),
                "1-based",
            ),
            (
                "read_range",
                json!({"path": "src/config.rs", "start_line": 9, "end_line": 3}),
                "before",
            ),
            (
                "read_range",
                json!({"path": "src/config.rs", "start_line": 500}),
                "past the end",
            ),
            ("read_range", json!({"path": "src"}), "directory"),
            ("read_range", json!({"path": "src/nope.rs"}), "no such file"),
            ("ask", json!({"question": ""}), "empty"),
            ("ask", json!({"question": "x", "budget": 10}), "budget"),
        ] {
            let e = tool_error(&client, tool, args.clone()).await;
            assert!(e.contains(want), "{t:?} {tool} {args}: {e}");
        }
        // The server still serves.
        ok(&client, "index_status", json!({})).await;
    }
}

/// Keeps `Value` in scope for helpers used by some tests only.
#[allow(dead_code)]
fn _unused(_: Value) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hit_on_merged_definitions_names_the_one_asked_for() {
    let fx = Fixture::new();
    // psf/requests' exceptions: three classes small enough to share one chunk.
    write(
        &fx.ws(),
        "requests/exceptions.py",
        "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n",
    );
    let shared = fx.start(no_models(), false).await;
    let (client, _g) = connect(shared.clone(), Transport::Stdio, Recorder::default()).await;
    let r = ok(
        &client,
        "search_code",
        json!({"query": "StreamConsumedError"}),
    )
    .await;
    let h = &r["hits"][0];
    assert_eq!(h["path"], "requests/exceptions.py", "{r}");
    assert_eq!(h["symbol"], "StreamConsumedError");
    assert_eq!(
        (h["start_line"].clone(), h["end_line"].clone()),
        (json!(1), json!(10))
    );
    assert_eq!(
        h["definition"],
        json!({"name": "StreamConsumedError", "kind": "class", "container": null,
               "start_line": 5, "end_line": 6, "line": 5})
    );
    let s = ok(
        &client,
        "find_symbol",
        json!({"name": "RetryError", "fuzzy": false}),
    )
    .await;
    let d = &s["symbols"][0];
    assert_eq!(
        (d["kind"].clone(), d["line"].clone()),
        (json!("class"), json!(9))
    );
    assert_eq!(
        (d["start_line"].clone(), d["end_line"].clone()),
        (json!(9), json!(10))
    );
}
