# Shared settings for Scry's scripts (sourced, not run).
# Dependency builds (llama.cpp, tantivy, usearch, the grammars: ~30 CPU-minutes) are kept
# outside the clone so every clone and every CI run reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scry/target}"
SCRY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SCRY_REPO
export SCRY_BIN="$CARGO_TARGET_DIR/debug/scry"
# Where the setup script installs models (XDG data dir, as `scry` looks there).
export SCRY_MODELS="${SCRY_MODELS:-${XDG_DATA_HOME:-$HOME/.local/share}/scry/models}"
EMBED_MODEL_FILE="all-MiniLM-L6-v2-f16.gguf"
EMBED_MODEL_SHA256="3d945b5337dd0f63690a71b8b0387107eb54e8a0f2abcc94a6daf753c9709823"
EMBED_MODEL_URL="https://huggingface.co/second-state/All-MiniLM-L6-v2-Embedding-GGUF/resolve/main/all-MiniLM-L6-v2-f16.gguf"
export EMBED_MODEL_FILE EMBED_MODEL_SHA256 EMBED_MODEL_URL
