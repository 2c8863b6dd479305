//! Packing with the real model's tokenizer: the budget is never exceeded, counts are
//! exact, tiers come in order, pieces are labelled, touching hits merge.

mod common;

use scry_answer::pack::{ModelCounter, pack};
use scry_answer::{PromptTemplate, Tier};
use scry_engine::{SearchMode, SearchRequest};

fn search(e: &scry_engine::Engine, q: &str) -> scry_engine::SearchResults {
    let mut r = SearchRequest::new(q);
    r.k = 60;
    r.mode = SearchMode::Lexical;
    e.search(&r).unwrap()
}

#[test]
fn the_budget_is_never_exceeded_and_the_count_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (root, idx) = (dir.path().join("ws"), dir.path().join("idx"));
    common::fixture(&root);
    let e = common::engine(&root, &idx);
    let g = common::generator();
    let found = search(&e, "limiter rate refill burst");
    let hits = &found.hits;
    assert!(
        hits.len() > 20,
        "the fixture should give many hits, got {}",
        hits.len()
    );
    let template = PromptTemplate::ask();
    let mut tiers_seen = std::collections::BTreeSet::new();
    for budget in [250, 400, 700, 1000, 1500, 2500, 4000] {
        let question = "How does the limiter refill?";
        let p = pack(
            hits,
            &found.sources,
            question,
            &template,
            &[],
            budget,
            &ModelCounter(g.as_ref()),
        )
        .unwrap();
        let recount = g.count_prompt_tokens(&p.messages).unwrap();
        assert!(p.exact && recount.is_exact());
        assert_eq!(
            p.tokens,
            recount.get(),
            "reported tokens are the real count"
        );
        assert!(
            p.tokens <= budget,
            "{} tokens over a budget of {budget}",
            p.tokens
        );
        // Tiers never go backwards.
        let order: Vec<Tier> = p.pieces.iter().map(|x| x.tier).collect();
        let rank = |t: &Tier| match t {
            Tier::Full => 0,
            Tier::Signature => 1,
            Tier::Path => 2,
        };
        assert!(
            order.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "{order:?}"
        );
        for piece in &p.pieces {
            tiers_seen.insert(rank(&piece.tier));
            let label = format!("{}:{}", piece.file.path, piece.start_line);
            assert!(
                piece.rendered.contains(&label),
                "{label} missing from {:?}",
                piece.rendered
            );
            assert!(p.context.contains(&piece.rendered));
        }
        // The budget is used: a bigger budget never packs less.
        assert!(
            budget < 1000 || p.tokens > budget / 2,
            "only {} of {budget} used",
            p.tokens
        );
    }
    assert_eq!(
        tiers_seen.len(),
        3,
        "all three tiers appear across the budgets"
    );
}

#[test]
fn overlapping_or_touching_hits_of_a_file_become_one_piece() {
    let dir = tempfile::tempdir().unwrap();
    let (root, idx) = (dir.path().join("ws"), dir.path().join("idx"));
    common::fixture(&root);
    let e = common::engine(&root, &idx);
    let g = common::generator();
    let found = search(&e, "TokenBucket try_acquire new tokens burst");
    let hits = &found.hits;
    let in_limiter: Vec<_> = hits
        .iter()
        .filter(|h| h.file.path == "src/limiter.rs")
        .collect();
    assert!(in_limiter.len() >= 2, "{in_limiter:?}");
    let p = pack(
        hits,
        &found.sources,
        "q",
        &PromptTemplate::ask(),
        &[],
        4000,
        &ModelCounter(g.as_ref()),
    )
    .unwrap();
    let pieces: Vec<_> = p
        .pieces
        .iter()
        .filter(|x| x.file.path == "src/limiter.rs")
        .collect();
    let merged = pieces
        .iter()
        .find(|x| x.hits >= 2)
        .expect("touching hits merged");
    // Each line of the file appears once.
    let body = &merged.rendered;
    assert_eq!(body.matches("pub fn try_acquire").count(), 1, "{body}");
    assert!(body.contains("pub fn new"));
}

#[test]
fn a_question_over_the_budget_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (root, idx) = (dir.path().join("ws"), dir.path().join("idx"));
    common::fixture(&root);
    let e = common::engine(&root, &idx);
    let g = common::generator();
    let long = "why ".repeat(400);
    let err = pack(
        &[],
        &e.snapshot().sources(),
        &long,
        &PromptTemplate::ask(),
        &[],
        300,
        &ModelCounter(g.as_ref()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("over the budget of 300"), "{err}");
}

/// A class whose every method matches the question: its hits touch and merge into one
/// group far larger than the budget.
fn big_class(root: &std::path::Path) {
    let mut py = String::from(
        "class Session:\n    \"\"\"A session that redirects and authenticates.\"\"\"\n\n",
    );
    // One method far over the chunk size: it is split into parts, most without its name.
    py.push_str("    def resolve_redirects(self, resp, req):\n        \"\"\"Follows each redirect and rebuilds authentication.\"\"\"\n");
    for j in 0..60 {
        py.push_str(&format!(
            "        if resp.is_redirect and hop_{j} < self.max_redirects:\n            self.rebuild_auth(req, resp)  # redirect hop {j} rebuilds authentication\n"
        ));
    }
    py.push_str("        return resp\n\n");
    for i in 0..24 {
        py.push_str(&format!(
            "    def rebuild_step_{i}(self, prepared_request, response):\n        \
             \"\"\"Decides whether redirect step {i} must rebuild authentication.\"\"\"\n        \
             headers = prepared_request.headers\n        url = prepared_request.url\n        \
             if \"Authorization\" in headers and self.should_strip_auth(response.request.url, url):\n            \
             del headers[\"Authorization\"]\n        new_auth = get_netrc_auth(url) if self.trust_env else None\n        \
             if new_auth is not None:\n            prepared_request.prepare_auth(new_auth)\n        \
             return {i}\n\n"
        ));
    }
    common::write(root, "sessions.py", &py);
}

#[test]
fn an_oversized_group_keeps_full_bodies_for_its_best_hits() {
    let dir = tempfile::tempdir().unwrap();
    let (root, idx) = (dir.path().join("ws"), dir.path().join("idx"));
    big_class(&root);
    let e = common::engine(&root, &idx);
    let g = common::generator();
    let found = search(&e, "redirect rebuild authentication");
    assert!(found.hits.len() >= 10, "{}", found.hits.len());
    let p = pack(
        &found.hits,
        &found.sources,
        "Where does the session decide whether to rebuild authentication on redirect?",
        &PromptTemplate::ask(),
        &[],
        2000,
        &ModelCounter(g.as_ref()),
    )
    .unwrap();
    let full: Vec<_> = p.pieces.iter().filter(|x| x.tier == Tier::Full).collect();
    assert!(full.len() >= 3, "{:#?}", p.pieces);
    let best = &found.hits[0];
    assert!(
        full.iter()
            .any(|x| x.start_line <= best.span.start_line && best.span.end_line <= x.end_line),
        "the best hit has no full body: {:#?}",
        p.pieces
    );
    assert!(p.tokens > 1500, "only {} of 2000 tokens used", p.tokens);
}

#[test]
fn every_piece_is_labelled_with_the_symbol_and_lines_of_the_text_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (root, idx) = (dir.path().join("ws"), dir.path().join("idx"));
    big_class(&root);
    common::fixture(&root);
    let e = common::engine(&root, &idx);
    let g = common::generator();
    let mut tiers = std::collections::BTreeSet::new();
    let mut parts_labelled = 0;
    let mut labels = Vec::new();
    for (q, budget) in [
        ("redirect rebuild authentication", 900),
        ("hop_42 is_redirect", 700),
        ("limiter rate refill burst", 600),
    ] {
        let found = search(&e, q);
        let p = pack(
            &found.hits,
            &found.sources,
            q,
            &PromptTemplate::ask(),
            &[],
            budget,
            &ModelCounter(g.as_ref()),
        )
        .unwrap();
        for piece in &p.pieces {
            tiers.insert(piece.tier.as_str());
            labels.push(piece.rendered.lines().next().unwrap_or("").to_owned());
            parts_labelled += usize::from(piece.rendered.contains("(part of resolve_redirects"));
            let file = std::fs::read_to_string(root.join(&piece.file.path)).unwrap();
            let lines: Vec<&str> = file.lines().collect();
            let held = &lines[piece.start_line as usize - 1..piece.end_line as usize];
            let range = if piece.start_line == piece.end_line {
                piece.start_line.to_string()
            } else {
                format!("{}-{}", piece.start_line, piece.end_line)
            };
            assert!(
                piece
                    .rendered
                    .contains(&format!("{}:{range}", piece.file.path)),
                "{piece:#?}"
            );
            match piece.tier {
                Tier::Full => assert!(piece.rendered.contains(&held.join("\n")), "{piece:#?}"),
                Tier::Signature => {
                    let first = piece.rendered.lines().nth(2).unwrap();
                    assert!(held[0].trim().starts_with(first.trim()), "{piece:#?}");
                }
                Tier::Path => {}
            }
            // Every symbol named is defined in the lines shown.
            for s in piece.symbol.iter().flat_map(|s| s.split(", ")) {
                assert!(
                    held.iter().any(|l| l.contains(s)),
                    "{s} is not in {piece:#?}"
                );
            }
        }
    }
    assert!(tiers.contains("signature"), "{tiers:?}");
    // Parts of the split method say so, and do not claim to declare it.
    assert!(
        parts_labelled > 0,
        "no part of resolve_redirects was packed: {labels:#?}"
    );
}
