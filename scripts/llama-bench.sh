#!/usr/bin/env bash
# Prints the path of llama.cpp's llama-bench, building it first if needed (see llama-tools.sh).
set -euo pipefail
echo "$("$(dirname "${BASH_SOURCE[0]}")/llama-tools.sh")/llama-bench"
