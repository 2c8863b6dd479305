//! The LSP layer in memory: protocol robustness (items 1–9 of RELIABILITY.md) and the
//! behaviour an editor relies on, against the real engine on a real index.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Fixture, TestClient, file_uri, frame};

const LIB: &str = "/// Parses the configuration file.\npub fn parse_config(path: &str) -> Config {\n    Config { path: path.into() }\n}\n\npub struct Config {\n    path: String,\n}\n";
const UTILS: &str = "def render_table(rows):\n    \"\"\"Render rows as an ASCII table.\"\"\"\n    return '\\n'.join(str(r) for r in rows)\n";

fn fixture() -> Fixture {
    Fixture::new(&[("src/lib.rs", LIB), ("tools/utils.py", UTILS)])
}

async fn ready_client(fx: &Fixture) -> TestClient {
    let mut c = fx.client();
    c.initialize(&fx.ws(), json!({})).await;
    c.wait_ready().await;
    c
}

fn hash(text: &str) -> String {
    scry_engine::FileHash::of(text.as_bytes()).to_string()
}

// ---- 1, 2: framing -------------------------------------------------------------------

#[tokio::test]
async fn garbage_and_invalid_json_get_parse_errors_and_the_next_frame_is_served() {
    let fx = fixture();
    let mut c = fx.client();
    c.send_raw(b"\x00\xff\xfegarbage bytes\r\n").await;
    let init_id = c
        .send_request(
            "initialize",
            json!({"processId": null, "rootUri": file_uri(&fx.ws()), "capabilities": {}}),
        )
        .await;
    let err = c.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700, "{err}");
    let init = c.response(json!(init_id)).await;
    assert!(init["result"]["capabilities"].is_object(), "{init}");

    c.send_raw(&{
        let body = b"{\"jsonrpc\": \"2.0\", \"id\": 99, \"method\": ";
        let mut f = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        f.extend_from_slice(body);
        f
    })
    .await;
    let err = c.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700, "{err}");
    // Invalid UTF-8 inside a string is not JSON either.
    c.send_raw(b"Content-Length: 4\r\n\r\n\"\xff\xfe\"").await;
    let err = c.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700, "{err}");
    let status = c.call("scry/status", json!({})).await;
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn a_huge_content_length_sent_slowly_is_refused_and_the_session_goes_on() {
    let fx = fixture();
    let mut c = fx.client();
    c.initialize(&fx.ws(), json!({})).await;
    for b in b"Content-Length: 99999999999\r\n\r\n" {
        c.send_raw(std::slice::from_ref(b)).await;
    }
    let err = c.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("limit"),
        "{err}"
    );
    // Some of the announced body arrives, then the client recovers with a real message.
    for _ in 0..64 {
        c.send_raw(&[b'x'; 1024]).await;
    }
    // A valid message one byte at a time behaves like one write.
    let msg = frame(&json!({"jsonrpc": "2.0", "id": 500, "method": "scry/status", "params": {}}));
    for b in &msg {
        c.send_raw(std::slice::from_ref(b)).await;
    }
    let r = c.response(json!(500)).await;
    assert!(r["result"]["state"].is_string(), "{r}");
}

// ---- 3: lifecycle --------------------------------------------------------------------

#[tokio::test]
async fn requests_before_initialize_and_a_second_initialize_are_errors() {
    let fx = fixture();
    let mut c = fx.client();
    let r = c.request("scry/search", json!({"query": "parse"})).await;
    assert_eq!(r["error"]["code"], -32002, "{r}");
    let r = c
        .request("workspace/symbol", json!({"query": "parse"}))
        .await;
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.initialize(&fx.ws(), json!({})).await;
    let again = c
        .request("initialize", json!({"processId": null, "capabilities": {}}))
        .await;
    assert!(
        again.get("error").is_some(),
        "a second initialize must fail: {again}"
    );
    assert_eq!(c.shutdown_and_exit().await.0, 0);
}

#[tokio::test]
async fn exit_without_shutdown_is_status_1_and_prompt() {
    let fx = fixture();
    let mut c = fx.client();
    c.initialize(&fx.ws(), json!({})).await;
    c.notify("exit", Value::Null).await;
    let t = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(5), c.server.take().unwrap())
        .await
        .expect("exits")
        .unwrap();
    assert_eq!(status.0, 1);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
}

// ---- 4: typing -----------------------------------------------------------------------

#[tokio::test]
async fn a_thousand_incremental_edits_keep_the_servers_text_equal_to_the_clients() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let path = fx.ws().join("src/typing.rs");
    std::fs::write(&path, "").unwrap();
    let uri = file_uri(&path);
    let mut text = String::from("// typing\n");
    c.open(&path, &text).await;
    let mut line = 1u32;
    let mut col = 0u32;
    for i in 0..1000 {
        // Type a function name letter by letter, with emoji now and then, and newlines.
        let piece = match i % 50 {
            49 => "\n".to_owned(),
            17 => "😀".to_owned(),
            _ => ((b'a' + (i % 26) as u8) as char).to_string(),
        };
        c.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": i + 2},
                "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": piece}],
            }),
        )
        .await;
        text.push_str(&piece);
        if piece == "\n" {
            line += 1;
            col = 0;
        } else {
            col += piece.encode_utf16().count() as u32;
        }
        if i % 100 == 50 {
            let r = c
                .call("scry/search", json!({"query": "typing", "k": 5}))
                .await;
            assert!(r["hits"].is_array());
        }
    }
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": uri, "version": 2000},
            "contentChanges": [{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": "\nfn finished_typing_marker() {}\n"}],
        }),
    )
    .await;
    text.push_str("\nfn finished_typing_marker() {}\n");
    let r = c
        .call(
            "scry/search",
            json!({"query": "finished_typing_marker", "k": 3}),
        )
        .await;
    let hit = &r["hits"][0];
    assert_eq!(hit["uri"], uri.as_str(), "{r}");
    assert_eq!(
        hit["fileHash"],
        hash(&text),
        "the server's buffer differs from the client's"
    );
    assert_eq!(hit["stale"], false);
}

#[tokio::test]
async fn unsaved_edits_are_searchable_and_closing_restores_the_disk() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let path = fx.ws().join("src/lib.rs");
    c.open(&path, LIB).await;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": file_uri(&path), "version": 2},
            "contentChanges": [{"text": format!("{LIB}\npub fn zanzibar_unsaved_function() {{}}\n")}],
        }),
    )
    .await;
    let r = c
        .call("scry/search", json!({"query": "zanzibar_unsaved_function"}))
        .await;
    assert!(
        r["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("zanzibar_unsaved_function"),
        "{r}"
    );
    assert!(
        std::fs::read_to_string(&path).unwrap() == LIB,
        "nothing was written to disk"
    );
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": file_uri(&path)}}),
    )
    .await;
    let r = c
        .call("scry/search", json!({"query": "zanzibar_unsaved_function"}))
        .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h["snippet"].as_str().unwrap().contains("zanzibar")),
        "the closed buffer is still indexed: {r}"
    );
}

// ---- 5: no deadlock ------------------------------------------------------------------

#[tokio::test]
async fn a_flood_of_notifications_while_the_server_waits_on_the_client_does_not_deadlock() {
    let fx = fixture();
    let mut c = fx.client();
    c.auto_reply = false;
    // workDoneProgress makes the server ask the client to create a token, and wait.
    c.initialize(&fx.ws(), json!({"window": {"workDoneProgress": true}}))
        .await;
    let path = fx.ws().join("src/lib.rs");
    c.open(&path, LIB).await;
    for v in 0..2000 {
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": file_uri(&path), "version": v + 2},
                   "contentChanges": [{"text": format!("{LIB}\nfn flood_{v}() {{}}\n")}]}),
        )
        .await;
    }
    let r = c.call("scry/search", json!({"query": "flood_1999"})).await;
    assert!(
        r["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("fn flood_1999()"),
        "{r}"
    );
    let pending = c.server_requests.clone();
    assert!(
        pending
            .iter()
            .any(|r| r["method"] == "window/workDoneProgress/create"),
        "the server never asked for a progress token: {pending:?}"
    );
    for r in pending {
        c.send(json!({"jsonrpc": "2.0", "id": r["id"], "result": null}))
            .await;
    }
    c.auto_reply = true;
    c.wait_ready().await;
}

// ---- 6: cancellation is in cancel.rs, alone in its process so CPU use is its own.

// ---- 7: one generation per answer ----------------------------------------------------

#[tokio::test]
async fn searches_during_reindex_and_edits_each_read_one_generation() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let path = fx.ws().join("src/lib.rs");
    c.open(&path, LIB).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        std::fs::write(
            fx.ws().join(format!("src/gen_{i}.rs")),
            format!("pub fn config_gen_{i}() {{}}\n"),
        )
        .unwrap();
        c.send_request(
            "workspace/executeCommand",
            json!({"command": "scry.reindex"}),
        )
        .await;
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": file_uri(&path), "version": i + 2},
                   "contentChanges": [{"text": format!("{LIB}\nfn config_edit_{i}() {{}}\n")}]}),
        )
        .await;
        ids.push(
            c.send_request("scry/search", json!({"query": "config", "k": 50}))
                .await,
        );
    }
    let mut generations = std::collections::BTreeSet::new();
    for id in ids {
        let r = c.response(json!(id)).await;
        let g = r["result"]["generation"].as_u64().unwrap();
        generations.insert(g);
        for h in r["result"]["hits"].as_array().unwrap() {
            assert_eq!(h["generation"].as_u64(), Some(g), "a mixed result: {r}");
        }
    }
    assert!(
        generations.len() > 1,
        "the index never moved: {generations:?}"
    );
}

// ---- 8: encodings --------------------------------------------------------------------

/// The bytes an LSP range covers in `text` (BOM dropped, CRLF lines), computed the
/// simple way, independently of the server's code.
fn slice_of<'a>(text: &'a str, range: &Value, utf8: bool) -> &'a str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let ch = p["character"].as_u64().unwrap() as usize;
        let mut at = 0;
        for l in text.split("\r\n").take(line) {
            at += l.len() + 2;
        }
        let l = text[at..].split("\r\n").next().unwrap();
        let mut units = 0;
        for (i, c) in l.char_indices() {
            if units == ch {
                return at + i;
            }
            units += if utf8 { c.len_utf8() } else { c.len_utf16() };
        }
        assert_eq!(units, ch, "position past the end of its line");
        at + l.len()
    };
    &text[offset(&range["start"])..offset(&range["end"])]
}

async fn ranges_are_exact(capabilities: Value, utf8: bool) {
    let text = "\u{feff}// 😀 emoji 𝄞 before anything\r\nuse std::fmt;\r\n\r\n/// Ω docs with 😀\r\npub fn after_emoji(x: &str) -> usize { x.len() } // 𝄞\r\n\r\npub struct Holder { name: String }\r\n\r\nimpl Holder {\r\n    pub fn emoji_method(&self) -> &str { \"😀😀\" }\r\n}\r\n";
    let fx = Fixture::new(&[("src/enc.rs", text)]);
    let mut c = fx.client();
    let init = c.initialize(&fx.ws(), capabilities).await;
    let expected = if utf8 { "utf-8" } else { "utf-16" };
    assert_eq!(init["capabilities"]["positionEncoding"], expected);
    c.wait_ready().await;
    let r = c
        .call("scry/search", json!({"query": "after_emoji", "k": 10}))
        .await;
    let hits = r["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{r}");
    for h in hits {
        assert_eq!(h["stale"], false);
        let covered = slice_of(text, &h["range"], utf8);
        let snippet = h["snippet"].as_str().unwrap();
        assert_eq!(
            covered,
            snippet.strip_prefix('\u{feff}').unwrap_or(snippet),
            "{h}"
        );
    }
    for name in ["after_emoji", "emoji_method", "Holder"] {
        let r = c.call("workspace/symbol", json!({"query": name})).await;
        let s = r
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {r}"));
        let covered = slice_of(text, &s["location"]["range"], utf8);
        assert!(covered.contains(name), "{name}: range covers {covered:?}");
    }
    // An edit placed with the negotiated encoding lands after the emoji.
    let path = fx.ws().join("src/enc.rs");
    let client_text = text.strip_prefix('\u{feff}').unwrap();
    c.open(&path, client_text).await;
    let line0 = "// 😀 emoji 𝄞 before anything";
    let col = if utf8 {
        line0.len()
    } else {
        line0.encode_utf16().count()
    };
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": file_uri(&path), "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": col}, "end": {"line": 0, "character": col}}, "text": " zebra_marker"}]}),
    )
    .await;
    let r = c
        .call("scry/search", json!({"query": "zebra_marker"}))
        .await;
    let edited = client_text.replacen("anything", "anything zebra_marker", 1);
    assert_eq!(r["hits"][0]["fileHash"], hash(&edited), "{r}");
}

#[tokio::test]
async fn ranges_are_exact_for_a_utf16_only_client() {
    ranges_are_exact(json!({"general": {"positionEncodings": ["utf-16"]}}), false).await;
}

#[tokio::test]
async fn ranges_are_exact_for_a_client_offering_utf8_first() {
    ranges_are_exact(
        json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
        true,
    )
    .await;
}

#[tokio::test]
async fn ranges_default_to_utf16_when_the_client_says_nothing() {
    ranges_are_exact(json!({}), false).await;
}

// ---- 9: panics -----------------------------------------------------------------------

#[tokio::test]
async fn a_panicking_handler_costs_one_request_not_the_session() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let r = c.request("scry/_testPanic", json!({})).await;
    assert_eq!(r["error"]["code"], -32603, "{r}");
    let r = c
        .call("scry/search", json!({"query": "parse_config"}))
        .await;
    assert_eq!(r["hits"][0]["symbol"], "parse_config");
    assert_eq!(c.shutdown_and_exit().await.0, 0);
}

// ---- requests ------------------------------------------------------------------------

#[tokio::test]
async fn search_returns_uris_ranges_provenance_and_generation() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let r = c
        .call(
            "scry/search",
            json!({"query": "render rows table", "mode": "lexical"}),
        )
        .await;
    let h = &r["hits"][0];
    assert_eq!(h["uri"], file_uri(&fx.ws().join("tools/utils.py")));
    assert_eq!(h["symbol"], "render_table");
    assert_eq!(h["range"]["start"], json!({"line": 0, "character": 0}));
    assert_eq!(h["provenance"]["lexicalRank"], 1);
    assert_eq!(h["generation"], r["generation"]);
    assert_eq!(h["stale"], false);
    assert_eq!(r["mode"], "lexical");
    let r = c
        .call("scry/search", json!({"query": "render rows table"}))
        .await;
    assert!(
        r["notice"].as_str().unwrap().contains("BM25-only"),
        "asked for hybrid: {r}"
    );
    // By file: files, each once, with ranges inside them.
    let r = c
        .call(
            "scry/search",
            json!({"query": "render rows table config", "byFile": true, "k": 2}),
        )
        .await;
    assert_eq!(r["hits"], json!([]));
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{r}");
    assert_eq!(files[0]["uri"], file_uri(&fx.ws().join("tools/utils.py")));
    assert_ne!(files[0]["uri"], files[1]["uri"]);
    for f in files {
        let ranges = f["ranges"].as_array().unwrap();
        assert!(!ranges.is_empty() && ranges.len() <= 3, "{f}");
        assert!(ranges.iter().all(|h| h["uri"] == f["uri"]));
    }
    // Filters.
    let r = c
        .call(
            "scry/search",
            json!({"query": "config", "language": "python"}),
        )
        .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["language"] == "python")
    );
    let r = c
        .call(
            "scry/search",
            json!({"query": "config", "pathGlob": "src/**"}),
        )
        .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["uri"].as_str().unwrap().contains("/src/"))
    );
}

#[tokio::test]
async fn a_file_changed_on_disk_after_indexing_is_flagged_stale() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    std::fs::write(fx.ws().join("src/lib.rs"), format!("// moved\n\n{LIB}")).unwrap();
    let r = c
        .call("scry/search", json!({"query": "parse_config"}))
        .await;
    assert_eq!(r["hits"][0]["stale"], true, "{r}");
    // Context and answers say so the same way: per source, and in a notice.
    let stale_notice = |r: &Value| {
        r["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("stale: src/lib.rs"))
    };
    let ctx = c
        .call("scry/context", json!({"query": "parse_config"}))
        .await;
    assert_eq!(ctx["sources"][0]["stale"], true, "{ctx}");
    assert!(stale_notice(&ctx), "{ctx}");
    let ask = c
        .call(
            "scry/ask",
            json!({"question": "What does parse_config return?"}),
        )
        .await;
    assert!(ask["answer"].is_null(), "no chat model here: {ask}");
    assert_eq!(ask["sources"][0]["stale"], true, "{ask}");
    assert!(stale_notice(&ask), "{ask}");
    c.call(
        "workspace/executeCommand",
        json!({"command": "scry.reindex"}),
    )
    .await;
    let r = c
        .call("scry/search", json!({"query": "parse_config"}))
        .await;
    assert_eq!(r["hits"][0]["stale"], false, "{r}");
    assert!(
        r["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("// moved"),
        "{r}"
    );
    let ctx = c
        .call("scry/context", json!({"query": "parse_config"}))
        .await;
    assert_eq!(ctx["sources"][0]["stale"], false, "{ctx}");
    assert!(!stale_notice(&ctx), "{ctx}");
}

#[tokio::test]
async fn bad_parameters_are_invalid_params_and_limits_bound_the_answer() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    for (method, params) in [
        ("scry/search", json!({"query": ""})),
        ("scry/search", json!({"query": "x", "mode": "telepathic"})),
        ("scry/search", json!({"nope": 1})),
        ("scry/search", json!({"query": "x".repeat(10 << 20)})),
        ("scry/context", json!({"query": "config", "budget": -5})),
        (
            "scry/context",
            json!({"query": "config", "budget": 1_000_000_000}),
        ),
        ("scry/ask", json!({"question": "why?", "role": "oracle"})),
        ("workspace/executeCommand", json!({"command": "scry.rm_rf"})),
        (
            "workspace/executeCommand",
            json!({"command": "scry.ask", "arguments": [42]}),
        ),
    ] {
        let r = c.request(method, params.clone()).await;
        assert_eq!(
            r["error"]["code"],
            -32602,
            "{method} {}: {r}",
            &params.to_string()[..params.to_string().len().min(80)]
        );
    }
    let r = c.request("scry/nonexistent", json!({})).await;
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = c
        .call(
            "scry/search",
            json!({"query": "config", "k": 1_000_000_000u64}),
        )
        .await;
    assert!(r["hits"].as_array().unwrap().len() <= scry_engine::MAX_K);
}

#[tokio::test]
async fn context_fits_its_budget_and_names_its_sources() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    for budget in [80, 200, 2000] {
        let r = c
            .call(
                "scry/context",
                json!({"query": "parse configuration", "budget": budget}),
            )
            .await;
        assert!(r["tokens"].as_u64().unwrap() <= budget, "{r}");
        assert_eq!(r["budget"], budget);
        let sources = r["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{r}");
        assert!(r["context"].as_str().unwrap().contains("src/lib.rs"), "{r}");
    }
}

#[tokio::test]
async fn ask_without_a_model_gives_the_context_and_says_why() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let r = c
        .call(
            "scry/ask",
            json!({"question": "What does parse_config return?"}),
        )
        .await;
    assert!(r["answer"].is_null(), "{r}");
    assert!(
        r["context"].as_str().unwrap().contains("parse_config"),
        "{r}"
    );
    assert!(
        r["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("No language model")),
        "{r}"
    );
    assert!(!r["sources"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn workspace_symbol_is_fuzzy_and_maps_kinds() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let r = c.call("workspace/symbol", json!({"query": "prscfg"})).await;
    let first = &r[0];
    assert_eq!(first["name"], "parse_config", "{r}");
    assert_eq!(first["kind"], 12, "function → SymbolKind.Function");
    let r = c.call("workspace/symbol", json!({"query": "Config"})).await;
    let s = r
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Config")
        .expect("Config");
    assert_eq!(s["kind"], 23, "struct → SymbolKind.Struct: {s}");
    let r = c.call("workspace/symbol", json!({"query": "qqqzzz"})).await;
    assert_eq!(r, json!([]));
}

#[tokio::test]
async fn status_and_reindex_report_the_index() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let s = c.call("scry/status", json!({})).await;
    assert_eq!(s["state"], "ready");
    assert_eq!(s["files"], 2);
    assert_eq!(s["mode"], "lexical");
    assert_eq!(s["roots"][0], fx.ws().display().to_string());
    assert!(s["modelProblem"].is_string());
    std::fs::write(
        fx.ws().join("src/new_file.rs"),
        "pub fn brand_new_function() {}\n",
    )
    .unwrap();
    let r = c
        .call(
            "workspace/executeCommand",
            json!({"command": "scry.reindex"}),
        )
        .await;
    assert_eq!(r["filesIndexed"], 1, "{r}");
    let s2 = c.call("scry/status", json!({})).await;
    assert_eq!(s2["files"], 3);
    assert!(s2["generation"].as_u64() > s["generation"].as_u64());
    // The BM25-only state was shown to the user.
    assert!(
        c.notifications
            .iter()
            .any(|n| n["method"] == "window/showMessage"
                && n["params"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("BM25-only")),
        "{:?}",
        c.notifications
    );
}

#[tokio::test]
async fn workspace_folders_can_be_added_and_removed() {
    let fx = fixture();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("extra.rs"),
        "pub fn zqsecondfolderzq() {}\n",
    )
    .unwrap();
    let other_path = other.path().canonicalize().unwrap();
    let mut c = ready_client(&fx).await;
    c.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [{"uri": file_uri(&other_path), "name": "other"}], "removed": []}}),
    )
    .await;
    let mut found = false;
    for _ in 0..200 {
        let r = c
            .request("scry/search", json!({"query": "zqsecondfolderzq"}))
            .await;
        if r["result"]["hits"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the added folder was never indexed");
    let s = c.wait_ready().await;
    assert_eq!(s["roots"].as_array().unwrap().len(), 2);
    c.notify(
        "workspace/didChangeWorkspaceFolders",
        json!({"event": {"added": [], "removed": [{"uri": file_uri(&other_path), "name": "other"}]}}),
    )
    .await;
    let mut gone = false;
    for _ in 0..200 {
        let s = c.call("scry/status", json!({})).await;
        if s["roots"].as_array().unwrap().len() == 1 && s["state"] == "ready" {
            let r = c
                .call("scry/search", json!({"query": "zqsecondfolderzq"}))
                .await;
            gone = r["hits"].as_array().unwrap().is_empty();
            assert!(gone, "{r}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let s = c.call("scry/status", json!({})).await;
    assert!(gone, "the removed folder is still served: {s}");
}

#[tokio::test]
async fn files_outside_the_workspace_are_tracked_but_never_indexed() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let outside = tempfile::tempdir().unwrap();
    let path = outside.path().join("secret_plans.rs");
    std::fs::write(&path, "fn qqoutsideqq() {}\n").unwrap();
    c.open(&path, "fn qqoutsideqq() {}\n").await;
    let r = c.call("scry/search", json!({"query": "qqoutsideqq"})).await;
    assert_eq!(r["hits"], json!([]), "{r}");
    let env = fx.ws().join(".env");
    c.open(&env, "QQSECRETQQ=sk-live-123456\n").await;
    let r = c.call("scry/search", json!({"query": "QQSECRETQQ"})).await;
    assert_eq!(r["hits"], json!([]), "{r}");
}

#[tokio::test]
async fn files_written_on_disk_are_picked_up_by_the_watcher() {
    let fx = fixture();
    let mut opts = support::options(&fx.index(), scry_models::ModelManager::new());
    opts.watch = true;
    let mut c = TestClient::start(opts);
    c.initialize(&fx.ws(), json!({})).await;
    c.wait_ready().await;
    // The watcher starts after the first refresh; give it a moment to subscribe.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(
        fx.ws().join("src/written_later.rs"),
        "pub fn qqwatcherqq() {}\n",
    )
    .unwrap();
    let mut found = false;
    for _ in 0..100 {
        let r = c.call("scry/search", json!({"query": "qqwatcherqq"})).await;
        if r["hits"].as_array().is_some_and(|h| !h.is_empty()) {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "a file written on disk never became searchable");
}

#[tokio::test]
async fn the_ask_command_answers_like_the_request() {
    let fx = fixture();
    let mut c = ready_client(&fx).await;
    let r = c
        .call(
            "workspace/executeCommand",
            json!({"command": "scry.ask", "arguments": ["What does parse_config return?"]}),
        )
        .await;
    assert!(
        r["context"].as_str().unwrap().contains("parse_config"),
        "{r}"
    );
    assert!(!r["sources"].as_array().unwrap().is_empty(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_model_the_index_serves_bm25_while_the_model_loads_then_hybrid() {
    let fx = fixture();
    let options = || {
        let mut o = support::options(&fx.index(), scry_models::ModelManager::new());
        o.engine.embedder = Some(scry_engine::EmbedderSpec::llama(support::embed_model_path()));
        o
    };
    // A first session builds the index with vectors.
    let mut c = TestClient::start(options());
    c.initialize(&fx.ws(), json!({})).await;
    let s = c.wait_ready().await;
    assert_eq!(s["mode"], "hybrid", "{s}");
    assert!(s["vectors"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(c.shutdown_and_exit().await.0, 0);

    // A second one answers at once, whatever the model is doing, and ends up hybrid.
    let mut c = TestClient::start(options());
    c.initialize(&fx.ws(), json!({})).await;
    let r = c
        .call("scry/search", json!({"query": "parse_config"}))
        .await;
    assert_eq!(r["hits"][0]["symbol"], "parse_config", "{r}");
    if r["mode"] == "lexical" {
        assert!(r["notice"].as_str().unwrap().contains("loading"), "{r}");
    }
    let s = c.wait_ready().await;
    assert_eq!(s["mode"], "hybrid", "{s}");
    assert!(s["modelProblem"].is_null(), "{s}");
    let r = c
        .call(
            "scry/search",
            json!({"query": "read settings from a file", "mode": "semantic"}),
        )
        .await;
    assert_eq!(r["mode"], "vector", "{r}");
    assert!(!r["hits"].as_array().unwrap().is_empty(), "{r}");
    // The provisional session never told the user search was BM25-only.
    assert!(
        !c.notifications
            .iter()
            .any(|n| n["method"] == "window/showMessage"
                && n["params"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("BM25-only")),
        "{:?}",
        c.notifications
    );
}

#[tokio::test]
async fn secrets_in_files_never_reach_the_editor() {
    let key = "ghp_Abcdefghijklmnopqrstuvwxyz0123456789";
    let fx = Fixture::new(&[(
        "src/deploy.rs",
        &format!(
            "/// Pushes the release.\npub fn push_release() {{\n    let token = \"{key}\";\n    upload(token);\n}}\n"
        ),
    )]);
    let mut c = ready_client(&fx).await;
    let r = c
        .call("scry/search", json!({"query": "push release"}))
        .await;
    assert!(
        r["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("push_release"),
        "{r}"
    );
    let ctx = c
        .call(
            "scry/context",
            json!({"query": "push release", "budget": 500}),
        )
        .await;
    let ask = c
        .call(
            "scry/ask",
            json!({"question": "How is the release pushed?"}),
        )
        .await;
    for out in [&r, &ctx, &ask] {
        assert!(
            !out.to_string().contains(key),
            "a secret reached the client: {out}"
        );
    }
}

#[tokio::test]
async fn a_hit_on_merged_definitions_names_the_one_asked_for() {
    // psf/requests' exceptions: three classes small enough to share one chunk.
    let exceptions = "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n";
    let fx = Fixture::new(&[("requests/exceptions.py", exceptions)]);
    let mut c = ready_client(&fx).await;
    let r = c
        .call("scry/search", json!({"query": "StreamConsumedError"}))
        .await;
    let h = &r["hits"][0];
    assert_eq!(h["symbol"], "StreamConsumedError", "{r}");
    assert_eq!(h["kind"], "class");
    assert_eq!(h["range"]["start"]["line"], 0, "the hit is the whole chunk");
    let d = &h["definition"];
    assert_eq!(d["name"], "StreamConsumedError");
    assert_eq!(d["kind"], "class");
    assert_eq!(
        d["range"],
        json!({"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 61}})
    );
    assert_eq!(
        d["selectionRange"],
        json!({"start": {"line": 4, "character": 6}, "end": {"line": 4, "character": 25}})
    );
    // workspace/symbol lists each one at its own place.
    let s = c
        .call("workspace/symbol", json!({"query": "RetryError"}))
        .await;
    assert_eq!(s[0]["name"], "RetryError", "{s}");
    assert_eq!(
        s[0]["location"]["range"],
        json!({"start": {"line": 8, "character": 0}, "end": {"line": 9, "character": 37}}),
        "{s}"
    );
}
