#!/usr/bin/env bash
# The main job on a fresh machine: set up, index this repository, search it, and answer a
# question about it with the local chat model.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$SCRY_REPO/scripts/setup.sh"
cd "$SCRY_REPO"
"$SCRY_BIN" index "$SCRY_REPO"
for q in "where is the commit point of an index generation" "code-aware tokenizer splits camelCase"; do
  printf '\n$ scry search "%s"\n' "$q"
  "$SCRY_BIN" search -w "$SCRY_REPO" -k 5 "$q"
done
printf '\n$ scry status\n'
"$SCRY_BIN" status -w "$SCRY_REPO"
printf '\n$ scry ask "How does the circuit breaker decide to open?"\n'
"$SCRY_BIN" ask -w "$SCRY_REPO" --budget 2000 --max-tokens 200 "How does the circuit breaker decide to open?"
