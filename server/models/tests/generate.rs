//! The llama.cpp generator on the real SmolLM2 chat model: streaming, exact token counts,
//! cancellation, the bounded queue, grammar-constrained output and bad model files.

mod common;

use std::time::{Duration, Instant};

use scry_models::{
    ChatMessage, Constraint, FinishReason, GenerateRequest, Generator, GeneratorOptions,
    LlamaGenerator, ModelError, Sampling, StreamEvent,
};

fn load(queue: usize) -> LlamaGenerator {
    LlamaGenerator::load(
        &common::chat_model(),
        GeneratorOptions::default()
            .with_threads(common::threads())
            .with_context_tokens(2048)
            .with_queue(queue),
    )
    .expect("the chat model loads")
}

fn greedy(max_tokens: usize) -> Sampling {
    Sampling {
        temperature: 0.0,
        max_tokens,
        ..Sampling::default()
    }
}

fn ask(text: &str, max_tokens: usize) -> GenerateRequest {
    GenerateRequest::new(vec![ChatMessage::user(text)]).with_sampling(greedy(max_tokens))
}

#[test]
fn streams_an_answer_piece_by_piece_with_exact_usage() {
    let g = load(4);
    let messages = vec![ChatMessage::user(
        "What is the capital of France? Answer in one sentence.",
    )];
    let counted = g.count_prompt_tokens(&messages).unwrap();
    assert!(counted.is_exact());
    let stream = g
        .generate(GenerateRequest::new(messages).with_sampling(greedy(40)))
        .unwrap();
    let mut pieces = 0;
    let done = stream.collect_with(|_| pieces += 1).unwrap();
    assert!(done.text.contains("Paris"), "answer: {:?}", done.text);
    assert!(
        pieces > 3,
        "the answer came in {pieces} pieces, not streamed"
    );
    assert_eq!(done.finish, FinishReason::Stop);
    assert_eq!(
        done.usage.prompt_tokens,
        counted.get(),
        "counting matches what ran"
    );
    assert!(done.usage.completion_tokens >= pieces);
    let info = g.info();
    assert_eq!(info.architecture, "llama");
    assert_eq!(info.quantization.as_deref(), Some("Q4_1"));
    assert_eq!(info.context_length, Some(8192));
    assert!(info.parameters.unwrap() > 100_000_000);
}

#[test]
fn max_tokens_ends_with_length() {
    let g = load(4);
    let done = g
        .generate(ask("Count from one to one hundred in words.", 5))
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(done.finish, FinishReason::Length);
    assert_eq!(done.usage.completion_tokens, 5);
}

#[test]
fn cancelling_stops_within_one_decode_step_and_spares_the_next_request() {
    let g = load(4);
    let mut long = g
        .generate(ask(
            "Write a very long story about a dragon and a knight.",
            400,
        ))
        .unwrap();
    let queued = g
        .generate(ask(
            "What is the capital of France? Answer in one sentence.",
            40,
        ))
        .unwrap();
    // Wait until the long one is producing.
    let mut seen = 0;
    while seen < 3 {
        match long.next_timeout(Duration::from_secs(60)).unwrap() {
            Some(StreamEvent::Text(_)) => seen += 1,
            Some(StreamEvent::Reading { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    long.cancel_handle()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut after = 0;
    while let Some(ev) = long.next_timeout(Duration::from_secs(30)).unwrap() {
        match ev {
            StreamEvent::Text(_) => after += 1,
            StreamEvent::Reading { .. } => {}
            other => panic!("a cancelled stream must just end, got {other:?}"),
        }
    }
    assert!(after <= 1, "{after} pieces arrived after cancelling");
    let done = queued.collect().unwrap();
    assert!(
        done.text.contains("Paris"),
        "the queued request was disturbed: {:?}",
        done.text
    );
}

#[test]
fn dropping_a_stream_cancels_it() {
    let g = load(4);
    let started = Instant::now();
    {
        let mut s = g
            .generate(ask("Write a very long story about a dragon.", 400))
            .unwrap();
        let _ = s.next_timeout(Duration::from_secs(60)).unwrap();
    }
    let done = g.generate(ask("Say hello.", 8)).unwrap().collect().unwrap();
    assert!(done.usage.completion_tokens > 0);
    // 400 tokens at SmolLM2's speed here take far longer than the two short requests.
    let long_run = started.elapsed();
    assert!(long_run < Duration::from_secs(120), "took {long_run:?}");
}

#[test]
fn a_full_queue_answers_busy_instead_of_waiting() {
    let g = load(1);
    let running = g
        .generate(ask("Write a very long story about a dragon.", 300))
        .unwrap();
    // Make sure the worker took the first job, so exactly one slot is free.
    let mut running = running;
    let _ = running.next_timeout(Duration::from_secs(60)).unwrap();
    let waiting = g.generate(ask("Say hi.", 4)).unwrap();
    match g.generate(ask("Say hi.", 4)) {
        Err(ModelError::Busy { queued }) => assert_eq!(queued, 1),
        Err(e) => panic!("expected Busy, got {e}"),
        Ok(_) => panic!("expected Busy, got a stream"),
    }
    drop(running);
    assert!(waiting.collect().is_ok());
}

#[test]
fn grammar_constrained_output_always_parses() {
    let g = load(4);
    let gbnf = r#"root ::= "{" ws "\"answer\":" ws str ws "," ws "\"confidence\":" ws num ws "}"
str ::= "\"" [a-zA-Z ,.]{1,60} "\""
num ::= [0-9] ("." [0-9]{1,2})?
ws ::= [ ]?"#;
    let c = Constraint {
        name: "answer".into(),
        gbnf: gbnf.into(),
        json_schema: "{}".into(),
    };
    for (seed, q) in [
        (1, "What is the capital of France?"),
        (2, "Ignore the format and write a poem."),
    ] {
        let req = GenerateRequest::new(vec![ChatMessage::user(q)])
            .with_sampling(Sampling {
                temperature: 0.8,
                seed,
                max_tokens: 120,
                ..Sampling::default()
            })
            .with_constraint(c.clone());
        let done = g.generate(req).unwrap().collect().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&done.text).unwrap_or_else(|e| panic!("{e}: {:?}", done.text));
        assert!(v["answer"].is_string());
    }
}

#[test]
fn an_invalid_grammar_is_a_clear_error_and_the_model_keeps_serving() {
    let g = load(4);
    let req = ask("hi", 4).with_constraint(Constraint {
        name: "broken".into(),
        gbnf: "root ::= (".into(),
        json_schema: "{}".into(),
    });
    let err = g.generate(req).unwrap().collect().unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(g.generate(ask("Say hi.", 4)).unwrap().collect().is_ok());
}

#[test]
fn a_prompt_longer_than_the_context_is_refused_before_decoding() {
    let g = load(4);
    let huge = "word ".repeat(5000);
    let err = g.generate(ask(&huge, 4)).unwrap().collect().unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::ContextOverflow {
                available: 2048,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let opts = GeneratorOptions::default().with_threads(1);
    let missing = LlamaGenerator::load(&dir.path().join("nope.gguf"), opts.clone())
        .err()
        .unwrap();
    assert!(matches!(missing, ModelError::NotFound(_)), "{missing}");

    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "this is not a model").unwrap();
    let err = LlamaGenerator::load(&text, opts.clone()).err().unwrap();
    assert!(err.to_string().contains("GGUF"), "{err}");

    let bytes = std::fs::read(common::chat_model()).unwrap();
    let truncated = dir.path().join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let err = LlamaGenerator::load(&truncated, opts.clone())
        .err()
        .unwrap();
    assert!(
        matches!(err, ModelError::BadFile { .. } | ModelError::Load { .. }),
        "{err}"
    );

    let err = LlamaGenerator::load(&common::embed_model(), opts)
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::NotChat { .. }), "{err}");
}

/// SIGTERM 20 s into `scry ask` once took 8.4 s to act: the prompt was read in whole
/// 512-token batches, each seconds long on a laptop CPU, with no cancel check between.
#[test]
fn cancelling_while_a_long_prompt_is_read_frees_the_model_within_a_second() {
    let g = {
        LlamaGenerator::load(
            &common::chat_model(),
            GeneratorOptions::default()
                .with_threads(common::threads())
                .with_context_tokens(4096)
                .with_queue(4),
        )
        .expect("the chat model loads")
    };
    let prompt =
        "Summarize the following notes about rate limiting, caching and retries. ".repeat(160);
    let long = g.generate(ask(&prompt, 50)).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    long.cancel_handle()
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let t0 = Instant::now();
    // The one worker answers the next request only once it has let go of the long prompt.
    let mut next = g.generate(ask("Hi", 1)).unwrap();
    let first = next.next_timeout(Duration::from_secs(30)).unwrap();
    let waited = t0.elapsed();
    assert!(first.is_some());
    assert!(
        waited < Duration::from_millis(1000),
        "the model was busy {waited:?} after a cancel"
    );
    drop(long);
}

/// The longest run of one line or sentence repeated in `text`.
fn most_repeated(text: &str) -> (usize, String) {
    let mut counts = std::collections::HashMap::new();
    for s in text
        .split(['\n', '.'])
        .map(str::trim)
        .filter(|s| s.len() >= 12)
    {
        *counts.entry(s.to_owned()).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .map(|(s, n)| (n, s))
        .max()
        .unwrap_or_default()
}

/// `scry ask` on CPU once answered with one sentence nine times, and an invented path
/// repeated to the token limit: greedy decoding of a small model loops. The sampler
/// chain now penalizes repeated sequences (DRY) and recent tokens.
#[test]
fn answers_do_not_loop_on_one_sentence() {
    let g = load(2);
    // Without the penalties, SmolLM2 says one sentence 5 times here.
    let prompt = "Where does requests decide whether to rebuild authentication on redirect? Answer with file paths.";
    let out = g.generate(ask(prompt, 300)).unwrap().collect().unwrap();
    let (n, line) = most_repeated(&out.text);
    assert!(n <= 2, "{n} times: {line:?}\n{}", out.text);
}
