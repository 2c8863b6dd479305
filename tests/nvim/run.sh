#!/usr/bin/env bash
# Headless Neovim e2e: the plugin in editors/nvim against the built `scry lsp` on a
# copy of tests/fixtures/lsp-ws. Needs Neovim 0.11 (scripts/test-clients.sh installs it
# into .tools/nvim) and the chat model (scripts/setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
NVIM="${NVIM:-$ROOT/.tools/nvim/bin/nvim}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cp -r "$ROOT/tests/fixtures/lsp-ws" "$TMP/ws"
mkdir -p "$TMP/ws/.git"
export SCRY_TEST_INDEX="$TMP/index"
export SCRY_TEST_CHAT_MODEL="$SCRY_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
export SCRY_TEST_EMBED_MODEL="$SCRY_MODELS/all-MiniLM-L6-v2-f16.gguf"
export PLUGIN_DIR="$ROOT/editors/nvim"
export XDG_STATE_HOME="$TMP/state" XDG_CACHE_HOME="$TMP/cache" XDG_CONFIG_HOME="$TMP/config"
# The help file must be valid help (duplicate or broken tags fail here).
"$NVIM" --headless -u NONE -i NONE +"helptags $PLUGIN_DIR/doc" +q
cd "$TMP/ws"
"$NVIM" --headless -u NONE -i NONE -l "$ROOT/tests/nvim/e2e.lua" "$(pwd -P)"
# A file with no project marker above it (and a file that does not parse).
mkdir -p "$TMP/loose"
printf 'def loose_marker_function():\n    return 1\n' > "$TMP/loose/notes.py"
printf 'def broken(:\n    return\n' > "$TMP/loose/broken.py"
(cd "$TMP/loose" && "$NVIM" --headless -u NONE -i NONE -l "$ROOT/tests/nvim/loose.lua" "$(pwd -P)")
# A server that exits at start.
"$NVIM" --headless -u NONE -i NONE -l "$ROOT/tests/nvim/broken.lua" "$(pwd -P)"
