//! The embedding model behind an OpenAI-compatible server, configured like a chat
//! model: llama.cpp's own `llama-server` serving MiniLM on loopback, reached from the
//! flags and from `scry.toml`; indexing and queries both go through it, and a server
//! that is gone leaves BM25 working and says why.

use scry_test_support::{LlamaServer, Sandbox, embed_model};

fn fixture(s: &Sandbox) {
    s.write(
        "src/config.rs",
        "/// Reads the settings file from disk and parses it into a Config.\npub fn parse_config(path: &str) -> Config {\n    todo!()\n}\n",
    );
    s.write(
        "src/net.rs",
        "/// Accepts TCP connections and spawns a handler for each client.\npub fn accept_connections(listener: TcpListener) {\n    todo!()\n}\n",
    );
    s.write(
        "web/cart.ts",
        "/** Computes the total price of the items in a shopping cart, with tax. */\nexport function cartTotal(items: Item[], taxRate: number): number {\n  return 0;\n}\n",
    );
}

#[test]
fn a_remote_embedder_from_flags_or_scry_toml_makes_search_hybrid() {
    let server = LlamaServer::start(&embed_model(), &["--embeddings"]);
    let url = server.v1();
    let s = Sandbox::new();
    fixture(&s);
    let flags = ["--embed-url", url.as_str(), "--embed-model", "minilm"];
    let with = |args: &[&str]| -> Vec<String> {
        flags.iter().chain(args).map(|a| a.to_string()).collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.json(&args)
    };
    let report = run(with(&["index", "--json"]));
    assert_eq!(report["mode"], "hybrid", "{report}");
    assert_eq!(
        report["chunks_embedded"], report["chunks_indexed"],
        "{report}"
    );
    let st = run(with(&["status", "--json"]));
    assert_eq!(st["vectors"], st["chunks"], "{st}");
    let id = st["model"]["id"].as_str().unwrap();
    assert!(id.starts_with("minilm@http://127.0.0.1:"), "{st}");
    assert_eq!(st["model"]["dims"], 384);
    let r = run(with(&[
        "search",
        "--json",
        "--mode",
        "vector",
        "read the settings from a file",
    ]));
    assert_eq!(r["mode"], "vector", "{r}");
    assert_eq!(r["results"][0]["path"], "src/config.rs", "{r}");

    // The same from the workspace's scry.toml, no flags: the same model, so only the new
    // file (scry.toml itself) is embedded.
    s.write(
        "scry.toml",
        &format!("[embedding]\nbackend = \"openai\"\nurl = \"{url}\"\nmodel = \"minilm\"\n"),
    );
    let report = s.json(&["index", "--json"]);
    assert_eq!(report["mode"], "hybrid", "{report}");
    assert_eq!(report["files_indexed"], 1, "{report}");
    assert_eq!(
        report["chunks_embedded"], report["chunks_indexed"],
        "{report}"
    );
    assert_eq!(report["vectors"], report["chunks"], "{report}");
    let r = s.json(&[
        "search",
        "--json",
        "--mode",
        "vector",
        "price of a shopping cart",
    ]);
    assert_eq!(r["results"][0]["path"], "web/cart.ts", "{r}");

    // The server is gone: BM25 still answers, and says why.
    drop(server);
    let r = s.json(&["search", "--json", "--no-refresh", "parse_config"]);
    assert_eq!(r["mode"], "lexical", "{r}");
    assert_eq!(r["results"][0]["path"], "src/config.rs");
    let notice = r["notice"].as_str().unwrap();
    assert!(
        notice.starts_with("BM25-only:") && notice.contains("127.0.0.1"),
        "{notice}"
    );
}
