#!/usr/bin/env bash
# Benchmarks `scry mcp` over stdio on a mid-size codebase with an existing index:
# 1,000 tool calls, 50 in flight, half search_code and half get_context; prints p50/p95
# latency, errors and the server's peak RSS, beside the protocol's own `ping` round
# trip measured in the same session (the machine is shared and noisy: compare ratios).
# usage: scripts/bench-mcp.sh [SOURCE_DIR] [CALLS] [CONCURRENCY]
# Shares the indexes of scripts/bench-lsp.sh (~/.cache/scry/bench-lsp).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SRC="${1:-$(ls -d "$HOME"/.cargo/registry/src/*/tantivy-0.2[0-9].* 2>/dev/null | sort -V | tail -1)}"
CALLS="${2:-1000}"
CONC="${3:-50}"
[ -d "$SRC" ] || { echo "no source directory (pass one, or fetch tantivy with cargo)" >&2; exit 1; }
MODEL="$SCRY_MODELS/$EMBED_MODEL_FILE"
cd "$SCRY_REPO"
cargo build --workspace --all-targets --locked >&2
CACHE="$HOME/.cache/scry/bench-lsp/$(basename "$SRC")"
mkdir -p "$CACHE"
[ -d "$CACHE/ws" ] || cp -r "$SRC" "$CACHE/ws"

run() { # name, flags...
  local name="$1"; shift
  echo "indexing ($name; reused when present)" >&2
  "$SCRY_BIN" index -w "$CACHE/ws" --index-dir "$CACHE/index-$name" "$@" >/dev/null
  python3 "$SCRY_REPO/scripts/mcp_bench.py" "$CALLS" "$CONC" -- \
    "$SCRY_BIN" --index-dir "$CACHE/index-$name" --backend none "$@" -w "$CACHE/ws" mcp --no-watch \
    > "$CACHE/mcp-$name.json"
}
run lexical --no-model
run hybrid --embed-model "$MODEL"

python3 - "$CACHE" "$SRC" <<'PY'
import json, sys
cache, src = sys.argv[1], sys.argv[2]
print(f"scry mcp (stdio) on {src}")
print("| mode | metric | scry | vs ping round trip |")
print("|---|---|---|---|")
for name in ("lexical", "hybrid"):
    r = json.load(open(f"{cache}/mcp-{name}.json"))
    ping = r["ping_p50_ms"]
    def row(metric, v):
        print(f"| {name} | {metric} | {v:.1f} ms | {v / ping:.0f}× |")
    for tool in ("search_code", "get_context"):
        row(f"{tool} p50, one at a time", r[f"{tool}_solo_p50_ms"])
        row(f"{tool} p95, one at a time", r[f"{tool}_solo_p95_ms"])
        row(f"{tool} p50, {r['concurrency']} in flight", r[f"{tool}_p50_ms"])
        row(f"{tool} p95, {r['concurrency']} in flight", r[f"{tool}_p95_ms"])
        print(f"| {name} | {tool} errors | {r[f'{tool}_errors']} of {r['calls'] // 2} | |")
    print(f"| {name} | throughput | {r['calls_per_s']:.0f} calls/s ({r['calls']} calls, {r['concurrency']} in flight) | |")
    print(f"| {name} | ping round trip p50 | {ping:.2f} ms | 1× |")
    print(f"| {name} | start → first answer | {r['ready_ms']:.0f} ms | |")
    print(f"| {name} | server peak RSS | {r['peak_rss_mib']} MiB | |")
    print(f"| {name} | index | {r['files']} files, {r['chunks']} chunks, {r['vectors']} vectors ({r['mode']}) | |")
PY
