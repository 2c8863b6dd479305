//! Shared by the model tests: where the setup script put the real GGUF models.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn models_dir() -> PathBuf {
    std::env::var_os("SCRY_MODELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/scry/models"))
        })
        .expect("SCRY_MODELS or HOME")
}

fn model(file: &str) -> PathBuf {
    let p = models_dir().join(file);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the test models)",
        p.display()
    );
    p
}

/// SmolLM2-135M-Instruct Q4_1: the default chat model.
pub fn chat_model() -> PathBuf {
    model("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Gemma 3 270M (base) Q4_K_M: a second architecture, for hot-swapping.
pub fn second_chat_model() -> PathBuf {
    model("gemma-3-270m-q4_k_m.gguf")
}

/// all-MiniLM-L6-v2 F16: the embedding model.
pub fn embed_model() -> PathBuf {
    model("all-MiniLM-L6-v2-f16.gguf")
}

/// Threads for llama.cpp in tests: 1 keeps two test threads from fighting over 2 cores.
pub fn threads() -> usize {
    1
}
