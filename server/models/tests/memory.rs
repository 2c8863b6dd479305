//! Lifecycle memory on the real models: after unloading, RSS returns to within 20 MB of
//! the pre-load baseline, and hot-swapping A → B → A ten times does not grow it. One test
//! in its own binary, so no other test's allocations blur the numbers.

mod common;

use scry_models::memory::resident_bytes;
use scry_models::{
    BackendSpec, ChatMessage, GenerateRequest, Generator, GeneratorOptions, LlamaGenerator,
    ModelManager, ModelRole, Sampling,
};

const MIB: f64 = 1024.0 * 1024.0;
const TOLERANCE: u64 = 20 << 20;

fn rss() -> u64 {
    resident_bytes().expect("/proc/self/status")
}

fn answer(g: &dyn Generator) -> String {
    let req = GenerateRequest::new(vec![ChatMessage::user("Say hello.")]).with_sampling(Sampling {
        temperature: 0.0,
        max_tokens: 8,
        ..Sampling::default()
    });
    g.generate(req).unwrap().collect().unwrap().text
}

fn spec(model: std::path::PathBuf) -> BackendSpec {
    BackendSpec::Llama {
        model,
        options: GeneratorOptions::default()
            .with_threads(1)
            .with_context_tokens(2048),
    }
}

#[test]
fn unloading_returns_memory_and_hot_swapping_does_not_grow_it() {
    let baseline = rss();

    let g = LlamaGenerator::load(
        &common::chat_model(),
        GeneratorOptions::default()
            .with_threads(1)
            .with_context_tokens(2048),
    )
    .unwrap();
    assert!(!answer(&g).is_empty());
    let loaded = rss();
    assert!(
        loaded > baseline + (50 << 20),
        "the model is resident: {:.1} MiB",
        (loaded - baseline) as f64 / MIB
    );
    drop(g);
    scry_models::memory::release_freed_memory();
    let unloaded = rss();
    assert!(
        unloaded < baseline + TOLERANCE,
        "after unload RSS is {:.1} MiB above the baseline",
        (unloaded as f64 - baseline as f64) / MIB
    );

    let manager = ModelManager::new();
    manager.configure(ModelRole::Fast, vec![spec(common::chat_model())]);
    let a = manager.acquire(ModelRole::Fast).generator.unwrap();
    assert!(!answer(a.as_ref()).is_empty());
    drop(a);
    let mut after_first_cycle = 0;
    for round in 0..10 {
        let b = manager
            .swap(ModelRole::Fast, spec(common::second_chat_model()))
            .unwrap();
        assert_eq!(b.info().architecture, "gemma3");
        let _ = answer(b.as_ref());
        drop(b);
        let a = manager
            .swap(ModelRole::Fast, spec(common::chat_model()))
            .unwrap();
        assert_eq!(a.info().architecture, "llama");
        assert!(!answer(a.as_ref()).is_empty());
        drop(a);
        // The first rounds settle the page cache and allocator; later rounds must not
        // climb above them.
        if round < 3 {
            after_first_cycle = after_first_cycle.max(rss());
        }
    }
    let after_ten = rss();
    assert!(
        after_ten < after_first_cycle + TOLERANCE,
        "ten swaps grew RSS by {:.1} MiB",
        (after_ten as f64 - after_first_cycle as f64) / MIB
    );
    manager.unload_all();
    let end = rss();
    // Measured against the level after the first unload: llama.cpp's one-time process
    // state (backend registry, OpenMP thread pool) stays for the life of the process and
    // is not model memory. The first unload above is checked against the true baseline.
    assert!(
        end < unloaded + TOLERANCE,
        "after eleven loads and unloads RSS is {:.1} MiB above the first unload ({:.1} MiB above the pre-load baseline)",
        (end as f64 - unloaded as f64) / MIB,
        (end as f64 - baseline as f64) / MIB
    );
}
