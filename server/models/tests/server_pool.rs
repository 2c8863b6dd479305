//! Several servers of one model against real `llama-server` processes: failover from a
//! dead one (reported and counted), its breaker and health check taking it out of
//! rotation, and requests spread to the least loaded server.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use scry_models::http::{BreakerState, HttpConfig, HttpEmbedder, HttpGenerator};
use scry_models::{ChatMessage, Embedder, GenerateRequest, Generator, Sampling};
use scry_test_support::LlamaServer;

/// A loopback address nothing listens on.
fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v1")
}

#[test]
fn a_server_that_dies_is_failed_over_at_once_then_left_out() {
    let a = LlamaServer::start(&common::embed_model(), &["--embeddings"]);
    let b = LlamaServer::start(&common::embed_model(), &["--embeddings"]);
    let config = HttpConfig::new(a.v1(), "minilm")
        .with_replicas([b.v1()])
        .with_breaker(2, Duration::from_secs(60));
    let e = HttpEmbedder::connect(config, 256).unwrap();
    let client = e.client();
    for i in 0..4 {
        e.embed(&[format!("before {i}")]).unwrap();
    }
    assert_eq!(client.failovers(), 0);
    // One server dies; calls take turns, so the next ones reach it.
    drop(b);
    for i in 0..10 {
        let v = e
            .embed(&[format!("after {i}")])
            .expect("the other server answers");
        assert_eq!(v.vectors[0].len(), 384);
    }
    // Each failed attempt moved at once to the live server; after two, its breaker
    // opened (or its health check had found it down) and it was no longer tried.
    let failovers = client.failovers();
    assert!((1..=2).contains(&failovers), "{failovers}");
    let dead = &client.endpoints()[1];
    assert!(
        dead.breaker == BreakerState::Open || !dead.healthy,
        "{dead:?}"
    );
    let started = Instant::now();
    while client.endpoints()[1].healthy {
        assert!(started.elapsed() < Duration::from_secs(15), "never checked");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(client.endpoints()[0].healthy);
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "the pool serves"
    );
}

#[test]
fn a_server_that_never_answered_costs_nothing_once_known() {
    let live = LlamaServer::start(&common::embed_model(), &["--embeddings"]);
    let config = HttpConfig::new(dead_url(), "minilm")
        .with_replicas([live.v1()])
        .with_breaker(2, Duration::from_secs(60));
    let e = HttpEmbedder::connect(config, 256).expect("served by the live server");
    for i in 0..10 {
        e.embed(&[format!("text {i}")]).unwrap();
    }
    assert!(e.client().failovers() <= 2, "{}", e.client().failovers());
}

#[test]
fn requests_go_to_the_least_loaded_server_streams_included() {
    let a = LlamaServer::start(&common::chat_model(), &[]);
    let b = LlamaServer::start(&common::chat_model(), &[]);
    let g = HttpGenerator::new(HttpConfig::new(a.v1(), "smollm2").with_replicas([b.v1()]));
    let long = || {
        GenerateRequest::new(vec![ChatMessage::user(
            "Write a long story about a lighthouse keeper.",
        )])
        .with_sampling(Sampling {
            temperature: 0.0,
            max_tokens: 400,
            ..Sampling::default()
        })
    };
    let first = g.generate(long()).unwrap();
    let second = g.generate(long()).unwrap();
    // While both stream, each server holds one.
    let started = Instant::now();
    let loads = loop {
        let loads: Vec<usize> = g.client().endpoints().iter().map(|e| e.in_flight).collect();
        if loads.iter().sum::<usize>() == 2 || started.elapsed() > Duration::from_secs(5) {
            break loads;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(loads, [1, 1]);
    let (x, y) = (first.collect().unwrap(), second.collect().unwrap());
    assert!(x.usage.completion_tokens > 0 && y.usage.completion_tokens > 0);
    // Once read (the reader threads end just after the last event), no longer load.
    let started = Instant::now();
    while g.client().endpoints().iter().any(|e| e.in_flight > 0) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "load never released"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(g.client().failovers(), 0);
}
