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
