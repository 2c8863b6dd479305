//! The OpenAI-compatible backend against a fault-injecting server on 127.0.0.1: retries
//! with backoff on 500/429, timeouts on a hung server and a stalled stream, the circuit
//! breaker, and garbage responses. (The real llama-server is in `llama_server.rs`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use scry_models::http::{HttpConfig, HttpEmbedder, HttpGenerator};
use scry_models::{ChatMessage, GenerateRequest, Generator, ModelError, StreamEvent};

/// What the fake server does with the n-th request (0-based).
type Behaviour = Arc<dyn Fn(usize, &str, &mut TcpStream) + Send + Sync>;

struct FakeServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(behaviour: Behaviour) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let behaviour = behaviour.clone();
            thread::spawn(move || {
                let path = read_request(&mut stream);
                behaviour(n, &path, &mut stream);
            });
        }
    });
    FakeServer { url, requests }
}

/// Reads one request; returns its path.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap_or(0);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    path
}

fn respond(stream: &mut TcpStream, status: &str, headers: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
}

fn sse_ok(stream: &mut TcpStream, pieces: &[&str], delay: Duration) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    for p in pieces {
        let ev = serde_json::json!({"choices":[{"delta":{"content":p},"finish_reason":null}]});
        let _ = write!(stream, "data: {ev}\n\n");
        let _ = stream.flush();
        thread::sleep(delay);
    }
    let done = serde_json::json!({"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":pieces.len()}});
    let _ = write!(stream, "data: {done}\n\ndata: [DONE]\n\n");
}

fn config(url: &str) -> HttpConfig {
    HttpConfig::new(url, "test-model")
        .with_timeouts(
            Duration::from_millis(500),
            Duration::from_millis(800),
            Duration::from_millis(800),
        )
        .with_retries(3, Duration::from_millis(20), Duration::from_millis(100))
        .with_breaker(4, Duration::from_millis(400))
}

fn hello() -> GenerateRequest {
    GenerateRequest::new(vec![ChatMessage::user("hello")])
}

#[test]
fn server_errors_are_retried_until_the_server_recovers() {
    let s = serve(Arc::new(|n, _, st| {
        if n < 2 {
            respond(
                st,
                "500 Internal Server Error",
                "",
                r#"{"error":{"message":"overloaded"}}"#,
            );
        } else {
            sse_ok(st, &["Hel", "lo"], Duration::ZERO);
        }
    }));
    let g = HttpGenerator::new(config(&s.url));
    let done = g.generate(hello()).unwrap().collect().unwrap();
    assert_eq!(done.text, "Hello");
    assert_eq!(done.usage.completion_tokens, 2);
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        3,
        "two failures, one success"
    );
}

#[test]
fn rate_limits_honour_retry_after() {
    let s = serve(Arc::new(|n, _, st| {
        if n == 0 {
            respond(st, "429 Too Many Requests", "Retry-After: 1\r\n", "{}");
        } else {
            sse_ok(st, &["ok"], Duration::ZERO);
        }
    }));
    let g = HttpGenerator::new(config(&s.url));
    let t = Instant::now();
    assert_eq!(g.generate(hello()).unwrap().collect().unwrap().text, "ok");
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        t.elapsed()
    );
}

#[test]
fn client_errors_are_not_retried_and_say_what_the_server_said() {
    let s = serve(Arc::new(|_, _, st| {
        respond(
            st,
            "400 Bad Request",
            "",
            r#"{"error":{"message":"model not found"}}"#,
        )
    }));
    let g = HttpGenerator::new(config(&s.url));
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    assert!(matches!(err, ModelError::Http { status: 400, .. }), "{err}");
    assert!(err.to_string().contains("model not found"));
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_hung_server_times_out_and_a_stalled_stream_is_cut() {
    let hung = serve(Arc::new(|_, _, _st| thread::sleep(Duration::from_secs(30))));
    let g = HttpGenerator::new(config(&hung.url).with_retries(
        1,
        Duration::from_millis(10),
        Duration::from_millis(10),
    ));
    let t = Instant::now();
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    assert!(matches!(err, ModelError::Timeout(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(hung.requests.load(Ordering::SeqCst), 2, "one retry");

    // Starts streaming, then stalls for longer than the read timeout.
    let slow = serve(Arc::new(|_, _, st| {
        sse_ok(st, &["a", "b"], Duration::from_secs(5))
    }));
    let g = HttpGenerator::new(config(&slow.url));
    let mut stream = g.generate(hello()).unwrap();
    let t = Instant::now();
    let mut text = String::new();
    let mut error = None;
    for ev in stream.by_ref() {
        match ev {
            StreamEvent::Text(x) => text.push_str(&x),
            StreamEvent::Error(e) => error = Some(e),
            StreamEvent::Done { .. } => panic!("a stalled stream must not finish"),
            StreamEvent::Reading { .. } => panic!("a remote server reads its own prompt"),
        }
    }
    assert_eq!(text, "a", "what arrived before the stall is kept");
    assert!(matches!(error, Some(ModelError::Timeout(_))), "{error:?}");
    assert!(t.elapsed() < Duration::from_secs(4));
}

#[test]
fn the_circuit_breaker_opens_fails_fast_and_probes_after_the_cool_down() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let h = healthy.clone();
    let s = serve(Arc::new(move |_, _, st| {
        if h.load(Ordering::SeqCst) {
            sse_ok(st, &["back"], Duration::ZERO);
        } else {
            respond(st, "503 Service Unavailable", "", "{}");
        }
    }));
    let g = HttpGenerator::new(config(&s.url));
    // 4 attempts (1 + 3 retries) reach the threshold of 4.
    assert!(g.generate(hello()).unwrap().collect().is_err());
    assert_eq!(s.requests.load(Ordering::SeqCst), 4);
    assert!(matches!(g.health(), scry_models::Health::Down(_)));
    let t = Instant::now();
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    assert!(matches!(err, ModelError::CircuitOpen { .. }), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "open means failing fast"
    );
    assert_eq!(
        s.requests.load(Ordering::SeqCst),
        4,
        "nothing sent while open"
    );
    healthy.store(true, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(450));
    assert!(matches!(g.health(), scry_models::Health::Degraded(_)));
    assert_eq!(g.generate(hello()).unwrap().collect().unwrap().text, "back");
    assert_eq!(g.health(), scry_models::Health::Ready);
}

#[test]
fn garbage_and_cut_streams_are_clear_errors() {
    let s = serve(Arc::new(|n, _, st| match n {
        0 => {
            let _ = write!(
                st,
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: <html>oops</html>\n\n"
            );
        }
        _ => {
            let _ = write!(
                st,
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: {{\"choices\":[{{\"delta\":{{\"content\":\"par\"}}}}]}}\n\n"
            );
        }
    }));
    let g = HttpGenerator::new(config(&s.url));
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    assert!(
        matches!(err, ModelError::BadResponse { .. }) && err.to_string().contains("not JSON"),
        "{err}"
    );
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    assert!(err.to_string().contains("ended before"), "{err}");
}

#[test]
fn embeddings_with_wrong_dimensions_or_nan_are_refused() {
    let s = serve(Arc::new(|n, _, st| {
        let body = match n {
            0 => r#"{"data":[{"index":0,"embedding":[0.1,0.2,0.3]}]}"#.to_owned(),
            1 => r#"{"data":[{"index":0,"embedding":[0.1,0.2]},{"index":1,"embedding":[0.1,0.2,0.3]}]}"#.to_owned(),
            2 => r#"{"data":[{"index":0,"embedding":[0.1,"NaN",0.3]}]}"#.to_owned(),
            3 => r#"{"data":[{"index":0,"embedding":[0.0,0.0,0.0]}]}"#.to_owned(),
            _ => r#"{"data":[{"index":1,"embedding":[0,3,4]},{"index":0,"embedding":[3,4,0]}]}"#.to_owned(),
        };
        respond(st, "200 OK", "Content-Type: application/json\r\n", &body);
    }));
    use scry_models::Embedder;
    let e = HttpEmbedder::connect(config(&s.url), 512).unwrap();
    assert_eq!(e.info().dims, 3);
    let two = vec!["a".to_owned(), "b".to_owned()];
    assert!(
        e.embed(&two)
            .unwrap_err()
            .to_string()
            .contains("dimensions")
    );
    assert!(e.embed(&two[..1]).is_err(), "NaN refused");
    assert!(
        e.embed(&two[..1])
            .unwrap_err()
            .to_string()
            .contains("zeros")
    );
    let ok = e.embed(&two).unwrap();
    assert_eq!(
        ok.vectors[0],
        vec![0.6, 0.8, 0.0],
        "sorted by index and normalised"
    );
    assert_eq!(ok.vectors[1], vec![0.0, 0.6, 0.8]);
}

#[test]
fn the_api_key_is_sent_but_never_shown() {
    // SAFETY: tests in this binary do not read this variable concurrently; its name is unique.
    unsafe { std::env::set_var("SCRY_TEST_KEY_7f3a", "sk-secret-value") };
    let s = serve(Arc::new(|_, _, st| {
        respond(
            st,
            "401 Unauthorized",
            "",
            r#"{"error":{"message":"bad key sk-secret-value"}}"#,
        )
    }));
    let g = HttpGenerator::new(config(&s.url).with_api_key_env("SCRY_TEST_KEY_7f3a"));
    let err = g.generate(hello()).unwrap().collect().unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("401") && !shown.contains("sk-secret-value"),
        "{shown}"
    );
    let missing = HttpGenerator::new(config(&s.url).with_api_key_env("SCRY_TEST_KEY_UNSET_91"));
    let err = missing.generate(hello()).unwrap().collect().unwrap_err();
    assert!(
        err.to_string()
            .contains("SCRY_TEST_KEY_UNSET_91 is not set"),
        "{err}"
    );
}
