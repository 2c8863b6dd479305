#!/usr/bin/env bash
# Builds llama.cpp's own llama-bench (the speed reference) and llama-server (the real
# OpenAI-compatible server the HTTP backend is tested against) once, and prints the
# directory holding them. Source: the llama.cpp tree vendored in the PyPI sdist of
# llama-cpp-python (crates.io's llama-cpp-sys-2 ships the library but not the tools),
# built with GGML_NATIVE=OFF like the crate's default, so comparisons are fair.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
VERSION=0.3.36
CACHE="${SCRY_TOOLS_CACHE:-$HOME/.cache/scry/tools}/llama-cpp-python-$VERSION"
BIN="$CACHE/build/bin"
if [ ! -x "$BIN/llama-bench" ] || [ ! -x "$BIN/llama-server" ]; then
  mkdir -p "$CACHE/dl"
  if [ ! -d "$CACHE/src" ]; then
    # Only this package as source: its build tools (cmake, ninja) come as wheels.
    python3 -m pip download -q --no-deps --no-binary llama-cpp-python -d "$CACHE/dl" "llama-cpp-python==$VERSION" >&2
    tar -C "$CACHE/dl" -xzf "$CACHE/dl/llama_cpp_python-$VERSION.tar.gz"
    mv "$CACHE/dl/llama_cpp_python-$VERSION/vendor/llama.cpp" "$CACHE/src"
  fi
  echo "building llama-bench and llama-server (once; ~20 minutes on 2 cores)" >&2
  # LLAMA_USE_PREBUILT_UI=OFF: nothing is downloaded; the server's web UI is not needed.
  cmake -S "$CACHE/src" -B "$CACHE/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_USE_PREBUILT_UI=OFF >&2
  cmake --build "$CACHE/build" -j"$(nproc)" --target llama-bench llama-server >&2
fi
echo "$BIN"
