//! Shared by the model tests: the real GGUF models the setup script installs.
#![allow(unused_imports)]

pub use scry_test_support::{chat_model, embed_model, models_dir, second_chat_model, threads};
