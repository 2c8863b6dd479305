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

/// A large file is parsed in parts cut at top-level lines (one syntax tree at a time:
/// a whole 700 KB file held a 38 MB tree). The parts must find what one parse finds:
/// every definition, with its kind, scope and span, each whole in one chunk, even where
/// a string's lines look like top-level lines to the cutter.
#[test]
fn a_large_file_parsed_in_parts_chunks_as_parsed_whole() {
    let mut src = String::new();
    for i in 0..400 {
        src.push_str(&format!(
            "/// Settings of service {i}.\n#[derive(Debug)]\npub struct Service{i} {{\n    \
             pub name: String,\n\n    pub port: u16,\n}}\n\nimpl Service{i} {{\n    \
             /// Starts service {i}.\n    pub fn start_{i}(&self) -> u16 {{\n        \
             let text = \"\n\nnot a top-level line {i}\n\";\n        \
             self.port + text.len() as u16\n    }}\n}}\n\n"
        ));
    }
    assert!(src.len() > 100_000, "{} bytes", src.len());
    let whole = chunk_file("lib.rs", src.as_bytes(), &opts());
    let parts = chunk_file(
        "lib.rs",
        src.as_bytes(),
        &opts().with_parse_segment_bytes(16 << 10),
    );
    assert!(whole.problems.is_empty(), "{:?}", whole.problems);
    assert!(parts.problems.is_empty(), "{:?}", parts.problems);
    let defs = |c: &scry_chunk::Chunked| {
        let mut d: Vec<_> = c
            .chunks
            .iter()
            .flat_map(|c| &c.definitions)
            .map(|d| format!("{:?} {} {:?} {:?}", d.kind, d.name, d.scope, d.span))
            .collect();
        d.sort();
        d
    };
    assert_eq!(defs(&whole).len(), 1200);
    assert_eq!(defs(&parts), defs(&whole));
    // As many chunks, give or take one at each cut (small neighbours are not merged
    // across one), each holding its definitions whole.
    let cuts = src.len().div_ceil(16 << 10);
    let (n_parts, n_whole) = (parts.chunks.len(), whole.chunks.len());
    assert!(
        n_parts.abs_diff(n_whole) <= cuts,
        "{n_parts} chunks in parts, {n_whole} whole"
    );
    for c in &parts.chunks {
        for d in &c.definitions {
            assert!(
                c.span.byte_start <= d.span.byte_start && d.span.byte_end <= c.span.byte_end,
                "{} outside its chunk",
                d.name
            );
        }
    }
    assert_covers(src.as_bytes(), &parts.chunks, opts().max_chunk_bytes * 2);
}
