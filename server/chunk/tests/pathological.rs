//! Inputs that must never panic or hang: they yield fallback chunks and a recorded problem.

use std::time::{Duration, Instant};

use scry_chunk::{ChunkOptions, ProblemKind, chunk_file};

fn opts() -> ChunkOptions {
    ChunkOptions::default().with_time_budget(Duration::from_secs(2))
}

/// Whatever happens, the chunks cover the file's substance and stay within the size cap.
fn assert_covers(bytes: &[u8], chunks: &[scry_chunk::Chunk], max: usize) {
    assert!(!chunks.is_empty());
    assert!(
        chunks
            .iter()
            .all(|c| c.span.byte_end - c.span.byte_start <= max)
    );
    assert!(
        chunks
            .windows(2)
            .all(|w| w[0].span.byte_end <= w[1].span.byte_start)
    );
    let substance_end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    assert!(chunks.last().unwrap().span.byte_end >= substance_end);
}

#[test]
fn fifty_megabyte_single_line_is_windowed_within_budget() {
    let bytes = vec![b'a'; 50 << 20];
    let t = Instant::now();
    let out = chunk_file("min.js", &bytes, &opts());
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    assert!(out.problems.iter().any(|p| p.kind == ProblemKind::TooLarge));
    assert_covers(&bytes, &out.chunks, 1800);
}

#[test]
fn hundred_thousand_nested_brackets_do_not_overflow_the_stack() {
    let mut s = String::from("fn f() { let x = ");
    s.push_str(&"[".repeat(100_000));
    s.push_str(&"]".repeat(100_000));
    s.push_str("; }\n");
    for path in ["deep.rs", "deep.js", "deep.py", "deep.json"] {
        let t = Instant::now();
        let out = chunk_file(path, s.as_bytes(), &opts());
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{path} took {:?}",
            t.elapsed()
        );
        assert_covers(s.as_bytes(), &out.chunks, 1800);
    }
}

#[test]
fn invalid_utf8_is_recorded_and_still_chunked() {
    let mut bytes = b"fn ok() {}\n// caf\xe9\nfn also_ok() { \xff\xfe }\n".to_vec();
    bytes.extend_from_slice(&[0x80; 10]);
    let out = chunk_file("bad.rs", &bytes, &opts());
    assert!(
        out.problems
            .iter()
            .any(|p| p.kind == ProblemKind::InvalidUtf8)
    );
    assert!(
        out.chunks
            .iter()
            .any(|c| c.definitions.iter().any(|d| d.name == "ok"))
    );
    assert_covers(&bytes, &out.chunks, 1800);
}

#[test]
fn syntax_errors_are_recorded_and_definitions_still_found() {
    let src = "fn good() { 1 }\nfn broken( { {{ \nfn later() { 2 }\n";
    let out = chunk_file("e.rs", src.as_bytes(), &opts());
    assert!(
        out.problems
            .iter()
            .any(|p| p.kind == ProblemKind::ParseErrors)
    );
    assert!(
        out.chunks
            .iter()
            .any(|c| c.definitions.iter().any(|d| d.name == "good"))
    );
}

#[test]
fn a_tiny_time_budget_falls_back_to_windows_with_a_timeout_problem() {
    let src: String = (0..20_000)
        .map(|i| format!("fn f{i}() {{ let a = {i}; }}\n"))
        .collect();
    let out = chunk_file(
        "big.rs",
        src.as_bytes(),
        &opts().with_time_budget(Duration::ZERO),
    );
    assert!(out.problems.iter().any(|p| p.kind == ProblemKind::Timeout));
    assert_covers(src.as_bytes(), &out.chunks, 1800);
}

#[test]
fn nul_bytes_and_empty_files() {
    let out = chunk_file("x.rs", b"", &opts());
    assert!(out.chunks.is_empty());
    let out = chunk_file("x.rs", b"fn a() {}\0\0\0fn b() {}\n", &opts());
    assert!(!out.chunks.is_empty());
    let out = chunk_file("x.txt", b"   \n\n  \n", &opts());
    assert!(out.chunks.is_empty());
}

#[test]
fn random_bytes_in_every_language_never_panic() {
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let langs = scry_chunk::languages();
    for round in 0..60 {
        let len = (next() % 4000) as usize;
        // Mix of code-ish ASCII and arbitrary bytes.
        let alphabet = b"{}()[];:,.=<>/*#\"'\n\n  fnclassdefx";
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 5 == 0 {
                    r as u8
                } else {
                    alphabet[(r as usize) % alphabet.len()]
                }
            })
            .collect();
        let lang = &langs[round % langs.len()];
        let ext = lang.extensions.first().cloned().unwrap_or_default();
        let out = chunk_file(&format!("f.{ext}"), &bytes, &opts());
        if !bytes.iter().all(u8::is_ascii_whitespace) && !bytes.is_empty() {
            assert!(!out.chunks.is_empty(), "{}: no chunks", lang.name);
        }
    }
}
