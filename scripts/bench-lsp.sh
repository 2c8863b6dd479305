#!/usr/bin/env bash
# Benchmarks `scry lsp` on a mid-size codebase with an existing index and prints a
# table: initialize → ready, unsaved edit → searchable, workspace/symbol, each beside
# its target and the protocol's own round trip measured in the same session.
# usage: scripts/bench-lsp.sh [SOURCE_DIR]
# The indexes are kept in ~/.cache/scry/bench-lsp (the embedded one takes ~15 minutes
# to build on 2 cores the first time); delete that directory to start over.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SRC="${1:-$(ls -d "$HOME"/.cargo/registry/src/*/tantivy-0.2[0-9].* 2>/dev/null | sort -V | tail -1)}"
[ -d "$SRC" ] || { echo "no source directory (pass one, or fetch tantivy with cargo)" >&2; exit 1; }
MODEL="$SCRY_MODELS/$EMBED_MODEL_FILE"
cd "$SCRY_REPO"
cargo build --workspace --all-targets --locked >&2
CACHE="$HOME/.cache/scry/bench-lsp/$(basename "$SRC")"
mkdir -p "$CACHE"
[ -d "$CACHE/ws" ] || cp -r "$SRC" "$CACHE/ws"
EDIT_FILE="src/indexer/index_writer.rs"
[ -f "$CACHE/ws/$EDIT_FILE" ] || EDIT_FILE="$(cd "$CACHE/ws" && find . -name '*.rs' -size +8k | head -1)"

run() { # name, index flags...
  local name="$1"; shift
  echo "indexing ($name; reused when present)" >&2
  "$SCRY_BIN" index -w "$CACHE/ws" --index-dir "$CACHE/index-$name" "$@" >/dev/null
  python3 "$SCRY_REPO/scripts/lsp_bench.py" "$CACHE/ws" "$EDIT_FILE" -- \
    "$SCRY_BIN" lsp --no-watch --index-dir "$CACHE/index-$name" --backend none "$@" > "$CACHE/$name.json"
}
run lexical --no-model
run hybrid --embed-model "$MODEL"

python3 - "$CACHE" "$SRC" <<'PY'
import json, sys
cache, src = sys.argv[1], sys.argv[2]
rows = []
for name in ("lexical", "hybrid"):
    r = json.load(open(f"{cache}/{name}.json"))
    floor = r["status_roundtrip_p50_ms"]
    def line(metric, value, target=None):
        ratio = f"{value / target:.0%} of target" if target else ""
        rows.append((name, metric, f"{value:.1f} ms", f"{value / floor:.0f}× the round trip" if floor else "", f"{target} ms" if target else "", ratio))
    line("initialize → searchable", r["searchable_ms"], 100)
    line("initialize → ready (refresh done)", r["ready_ms"], 100)
    line("unsaved edit → searchable p50", r["edit_p50_ms"])
    line("unsaved edit → searchable p95", r["edit_p95_ms"], 100)
    line("workspace/symbol p50", r["symbol_p50_ms"])
    line("workspace/symbol p95", r["symbol_p95_ms"])
    line("scry/status round trip p50", floor)
    rows.append((name, "index", f'{r["files"]} files, {r["chunks"]} chunks, {r["vectors"]} vectors', "", "", ""))
    rows.append((name, "server peak RSS", f'{r["peak_rss_mib"]} MiB', "", "", ""))
print(f"scry lsp on {src}")
print("| mode | metric | scry | vs protocol round trip | target | vs target |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
PY
