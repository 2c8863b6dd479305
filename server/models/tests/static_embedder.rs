//! The fast vector tier on the real embedding model: distilled once (timed), cached under
//! the model's fingerprint, reloaded without running the model, and still carrying
//! meaning: related sentences are closer than unrelated ones.
#![allow(clippy::print_stderr)]

use std::time::Instant;

use scry_models::Embedder;
use scry_models::{EmbedderOptions, EmbedderSpec, STATIC_DIMS, StaticEmbedder, TableSource};
use scry_test_support as support;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn a_distilled_table_is_cached_once_and_embeds_meaning() {
    let cache = tempfile::tempdir().unwrap();
    let model = support::embed_model();
    let opts = EmbedderOptions::default().with_threads(2);

    let spec = EmbedderSpec::Static {
        model: model.clone(),
        options: opts.clone(),
        cache_dir: cache.path().to_owned(),
    };
    assert!(spec.needs_distilling(), "nothing is cached yet");
    let t0 = Instant::now();
    let first = StaticEmbedder::load(&model, opts.clone(), cache.path()).unwrap();
    let distill_s = t0.elapsed().as_secs_f64();
    let saved = match first.table_source() {
        TableSource::Distilled { saved, .. } => saved.clone().expect("the cache is writable"),
        other => panic!("expected a distillation, got {other:?}"),
    };
    eprintln!("distilled in {distill_s:.1}s");
    assert!(saved.starts_with(cache.path()));
    assert_eq!(first.info().dims, STATIC_DIMS);
    assert!(
        first.info().id.starts_with("static128v2:"),
        "{}",
        first.info().id
    );

    assert!(!spec.needs_distilling(), "the table is cached now");
    assert_eq!(
        spec.expected_id().as_deref(),
        Some(first.info().id.as_str())
    );

    // The second load reads the table: no model run, well under the distillation's time.
    let t1 = Instant::now();
    let again = StaticEmbedder::load(&model, opts, cache.path()).unwrap();
    let load_s = t1.elapsed().as_secs_f64();
    assert_eq!(again.table_source(), &TableSource::Cached(saved.clone()));
    assert!(
        load_s * 5.0 < distill_s,
        "load {load_s:.2}s vs distill {distill_s:.1}s"
    );
    assert_eq!(again.info().id, first.info().id);

    let texts: Vec<String> = [
        "The cat sits on the mat.",
        "A kitten is resting on a rug.",
        "The stock market fell sharply today.",
        "",
    ]
    .map(String::from)
    .to_vec();
    let e = again.embed(&texts).unwrap();
    for v in &e.vectors {
        assert_eq!(v.len(), STATIC_DIMS);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let related = cosine(&e.vectors[0], &e.vectors[1]);
    let unrelated = cosine(&e.vectors[0], &e.vectors[2]);
    assert!(
        related > unrelated + 0.1,
        "related {related} unrelated {unrelated}"
    );
    // Same text, same vector, from either load.
    assert_eq!(first.embed(&texts[..1]).unwrap().vectors, e.vectors[..1]);

    // Others reuse this table instead of distilling again.
    let shared = support::shared_static_models_dir().join("static");
    let _ = std::fs::copy(&saved, shared.join(saved.file_name().unwrap()));
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let e = StaticEmbedder::load(
        std::path::Path::new("/no/such/model.gguf"),
        EmbedderOptions::default(),
        cache.path(),
    )
    .err()
    .expect("an error");
    assert!(e.to_string().contains("does not exist"), "{e}");
}
