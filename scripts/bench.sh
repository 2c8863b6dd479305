#!/usr/bin/env bash
# Benchmarks Scry on a real mid-size codebase and prints one table, each figure beside
# its reference (llama.cpp's own llama-bench on the same model and threads) or target.
# usage: scripts/bench.sh [SOURCE_DIR] [THREADS]   (SOURCE_DIR: a Rust codebase)
#        BUSY=1 scripts/bench.sh …   one competing CPU-bound process (`yes`) runs during every
#                                    measurement, the reference's included
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SRC="${1:-$(ls -d "$HOME"/.cargo/registry/src/*/tantivy-0.2[0-9].* 2>/dev/null | sort -V | tail -1)}"
THREADS="${2:-2}"
MODEL="$SCRY_MODELS/$EMBED_MODEL_FILE"
[ -d "$SRC" ] || { echo "no source directory (pass one, or fetch tantivy with cargo)" >&2; exit 1; }
[ -f "$MODEL" ] || "$SCRY_REPO/scripts/setup.sh"

cd "$SCRY_REPO"
cargo build --workspace --all-targets --locked >&2
BENCH="$CARGO_TARGET_DIR/debug/examples/bench"
LLAMA_BENCH="$("$SCRY_REPO/scripts/llama-bench.sh")"

WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
cp -r "$SRC" "$WORK/src"
echo "benchmarking on $SRC ($(find "$WORK/src" -type f | wc -l) files), $THREADS threads" >&2

if [ "${BUSY:-0}" = 1 ]; then
  yes > /dev/null & HOG=$!
  trap 'kill $HOG 2>/dev/null; rm -rf "$WORK"' EXIT
  echo "one competing CPU-bound process runs (pid $HOG)" >&2
fi

# The reference first, then Scry; never both at once. llama-bench runs twice: with
# OpenMP's default wait policy (threads spin ~1 ms at every barrier) and with the
# passive one (they sleep at once). Scry runs as `scry` does: a short spin (omp.rs).
"$LLAMA_BENCH" -m "$MODEL" -p 128,256,512 -n 0 -t "$THREADS" -r 5 -o json > "$WORK/llama-bench.json"
OMP_WAIT_POLICY=PASSIVE "$LLAMA_BENCH" -m "$MODEL" -p 128,256,512 -n 0 -t "$THREADS" -r 5 -o json > "$WORK/llama-bench-passive.json"
[ -n "${OMP_WAIT_POLICY:-}" ] || export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-3000}"
"$BENCH" "$WORK/src" "$WORK/index-lexical" "" "$THREADS" > "$WORK/lexical.json"
"$BENCH" "$WORK/src" "$WORK/index-full" "$MODEL" "$THREADS" > "$WORK/full.json"

python3 - "$WORK" "$SRC" "${BUSY:-0}" <<'PY'
import json, sys
work, src, busy = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rates = lambda f: {r["n_prompt"]: r["avg_ts"] for r in json.load(open(f"{work}/{f}")) if r.get("n_prompt")}
pp, pp_passive = rates("llama-bench.json"), rates("llama-bench-passive.json")
lex = json.load(open(f"{work}/lexical.json"))
full = json.load(open(f"{work}/full.json"))
ref, ref_passive = max(pp.values()), max(pp_passive.values())
ours = full["embed_tokens_per_second"]
show = lambda p: ", ".join(f"pp{n} {v:,.0f}" for n, v in sorted(p.items()))
mib = lambda b: f"{b / 2**20:.1f} MiB"
rows = [
    ("files / chunks", f'{lex["files"]} / {lex["chunks"]}', "", ""),
    ("index time, lexical only", f'{lex["index_seconds"]:.2f} s', "", ""),
    ("index time, full (with embeddings)", f'{full["index_seconds"]:.1f} s', f'{full["embed_tokens"]} tokens embedded', ""),
    ("embedding tokens/s (Scry)", f"{ours:,.0f}",
     f"llama-bench {show(pp)}", f"{ours / ref:.0%} of best (target >= 90%)"),
    ("", "", f"llama-bench, passive wait: {show(pp_passive)}", f"{ours / ref_passive:.0%} of best"),
    ("reopen unchanged, ready", f'{full["reopen_seconds"] * 1000:.0f} ms', f'embedded {full["reopen_embedded"]}, re-indexed {full["reopen_indexed"]}', ""),
    ("file update -> searchable, lexical p50/p95", f'{lex["update_disk_ms_p50"]:.1f} / {lex["update_disk_ms_p95"]:.1f} ms', "", f'p95 {lex["update_disk_ms_p95"] / 100:.0%} of 100 ms target'),
    ("file update -> searchable, vectors p50/p95", f'{full["update_disk_ms_p50"]:.1f} / {full["update_disk_ms_p95"]:.1f} ms', "", f'p95 {full["update_disk_ms_p95"] / 300:.0%} of 300 ms target'),
    ("editor buffer -> searchable, lexical p50/p95", f'{lex["update_overlay_ms_p50"]:.1f} / {lex["update_overlay_ms_p95"]:.1f} ms', "", ""),
    ("editor buffer -> searchable, vectors p50/p95", f'{full["update_overlay_ms_p50"]:.1f} / {full["update_overlay_ms_p95"]:.1f} ms', "", ""),
    ("lexical query p50/p95", f'{lex["query_ms_p50"]:.2f} / {lex["query_ms_p95"]:.2f} ms', "", ""),
    ("hybrid query p50/p95, with query embedding", f'{full["query_ms_p50"]:.2f} / {full["query_ms_p95"]:.2f} ms', "", ""),
    ("hybrid query p50/p95, without", f'{full["query_no_embed_ms_p50"]:.2f} / {full["query_no_embed_ms_p95"]:.2f} ms', "", f'p95 {full["query_no_embed_ms_p95"] / 20:.0%} of 20 ms target'),
    ("peak RSS, no model", mib(lex["peak_rss_bytes"]), f'source {mib(lex["source_bytes"])}', f'{lex["peak_rss_bytes"] / lex["source_bytes"]:.1f}x source (target <= 2x above a one-file run: scripts/bench-memory.py)'),
    ("peak RSS, with model", mib(full["peak_rss_bytes"]), "", ""),
]
load = "one competing CPU-bound process" if busy else "idle machine"
print(f"Scry benchmark: {src}, {full['threads']} threads, model {full['model'].rsplit('/', 1)[-1]}, {load}")
w = [max(len(r[i]) for r in rows) for i in range(4)]
line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
print(line(("measure", "Scry", "reference", "vs target")))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(line(r))
PY
