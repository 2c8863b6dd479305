#!/usr/bin/env bash
# Sets up a fresh machine for Scry: system packages for llama.cpp, the Rust build,
# the default embedding model and the chat models. Idempotent: a second run only checks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. System packages: cmake and clang/libclang (bindgen) to build llama.cpp.
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v clang >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v cc >/dev/null || need+=(build-essential)
# python3-venv: the test clients (Neovim, pytest-lsp) live in venvs under .tools/.
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs" >&2; exit 1; }

# 2. The embedding model: from ../shared/models when it is there, else downloaded;
# checked against its sha256 either way.
mkdir -p "$SCRY_MODELS"
dest="$SCRY_MODELS/$EMBED_MODEL_FILE"
check() { echo "$EMBED_MODEL_SHA256  $1" | sha256sum -c --status - 2>/dev/null; }
if ! check "$dest"; then
  shared="$SCRY_REPO/../shared/models/$EMBED_MODEL_FILE"
  if [ -f "$shared" ]; then
    say "installing the embedding model from $shared"
    cp "$shared" "$dest.tmp"
    check "$dest.tmp" || { echo "checksum mismatch for $shared" >&2; rm -f "$dest.tmp"; exit 1; }
    mv "$dest.tmp" "$dest"
  elif [ ! -f "$dest" ]; then
    # A public conversion of the same model; its bytes differ from our pinned build, so
    # it is checked for being a GGUF file and its own sha256 is recorded beside it.
    say "downloading the embedding model from $EMBED_MODEL_URL"
    curl -fL --retry 3 -o "$dest.tmp" "$EMBED_MODEL_URL"
    [ "$(head -c 4 "$dest.tmp")" = "GGUF" ] || { echo "the download is not a GGUF file" >&2; rm -f "$dest.tmp"; exit 1; }
    sha256sum "$dest.tmp" | sed "s|$dest.tmp|$dest|" > "$dest.sha256"
    echo "note: not the pinned build (sha256 recorded in $dest.sha256)" >&2
    mv "$dest.tmp" "$dest"
  fi
fi

# 3. The chat models (SmolLM2 for answers; Gemma 3 270M for the hot-swap tests).
"$SCRY_REPO/scripts/fetch-chat-models.sh" "${SCRY_CHAT_MODELS:-all}"

# 4. Build (one profile, shared by the binary and the tests).
say "building scry (the first build compiles llama.cpp: ~20 minutes on 2 cores)"
cd "$SCRY_REPO"
cargo build --workspace --all-targets --locked
say "ready: $SCRY_BIN"
