//! Cancelling an answer over LSP (RELIABILITY.md item 6): -32800 promptly, and the
//! model stops. Alone in its test binary, so the process's CPU time is this test's.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Fixture, TestClient};

const LIB: &str = "/// Parses the configuration file.\npub fn parse_config(path: &str) -> Config {\n    Config { path: path.into() }\n}\n\npub struct Config {\n    path: String,\n}\n";

fn fixture() -> Fixture {
    Fixture::new(&[("src/lib.rs", LIB)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_answer_replies_32800_and_stops_the_model() {
    use scry_models::{BackendSpec, GeneratorOptions, ModelManager, ModelRole};
    let fx = fixture();
    let models = ModelManager::new();
    models.configure(
        ModelRole::Fast,
        vec![BackendSpec::auto(
            &support::chat_model_path(),
            GeneratorOptions::default(),
        )],
    );
    models.configure(ModelRole::Strong, Vec::new());
    let mut c = TestClient::start(support::options(&fx.index(), models));
    c.initialize(&fx.ws(), json!({})).await;
    c.wait_ready().await;
    let id = c
        .send_request(
            "scry/ask",
            json!({"question": "Explain parse_config in great detail, line by line.", "maxTokens": 4096,
                   "partialResultToken": "answer-1"}),
        )
        .await;
    // Wait until the model is streaming.
    loop {
        let m = c.next_message().await.unwrap();
        if m["method"] == "$/progress" && m["params"]["token"] == "answer-1" {
            break;
        }
        assert!(
            m.get("result").is_none() || m["id"] != id,
            "answered before streaming: {m}"
        );
    }
    let t = Instant::now();
    c.notify("$/cancelRequest", json!({"id": id})).await;
    let r = c.response(json!(id)).await;
    assert_eq!(r["error"]["code"], -32800, "{r}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "cancel took {:?}",
        t.elapsed()
    );
    // The generation stops: the process goes idle. Generating the 4,096 tokens asked for
    // would keep a core busy for a minute; a decode already running when the flag was
    // set may take a moment to finish (longer on a loaded machine), so idleness is
    // awaited in half-second windows.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut windows = Vec::new();
    loop {
        let cpu0 = support::cpu_seconds();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let used = support::cpu_seconds() - cpu0;
        windows.push(used);
        if used < 0.1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still busy 10 s after cancelling; CPU-seconds per half second: {windows:?}"
        );
    }
    // And the model still answers the next question.
    let r = c
        .call(
            "scry/ask",
            json!({"question": "What does parse_config return?", "maxTokens": 8}),
        )
        .await;
    assert!(r["answer"].is_string(), "{r}");
}
