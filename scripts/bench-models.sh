#!/usr/bin/env bash
# Generation benchmark: Scry's llama.cpp backend beside llama.cpp's own llama-bench on
# the same model and threads, run back to back in this script (the machine is shared, so
# the ratios matter more than the absolute figures).
# usage: bench-models.sh [MODEL] [THREADS] [WORKSPACE]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
MODEL="${1:-$SCRY_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf}"
THREADS="${2:-2}"
WS="${3:-$(ls -d "$HOME"/.cargo/registry/src/*/tantivy-0.27.* 2>/dev/null | head -1)}"
cd "$SCRY_REPO"
cargo build --workspace --all-targets --locked -q
BENCH="$("$SCRY_REPO/scripts/llama-tools.sh")/llama-bench"
echo "model $(basename "$MODEL"), $THREADS threads, context packed from $WS" >&2
REF="$("$BENCH" -m "$MODEL" -p 512 -n 128 -t "$THREADS" -r 3 -o json 2>/dev/null)"
OURS="$("$CARGO_TARGET_DIR/debug/examples/gen_bench" "$MODEL" "$THREADS" "$WS")"
REF2="$("$BENCH" -m "$MODEL" -p 512 -n 128 -t "$THREADS" -r 3 -o json 2>/dev/null)"
python3 - "$REF" "$REF2" "$OURS" <<'PY'
import json, sys
refs = [json.loads(sys.argv[1]), json.loads(sys.argv[2])]
ours = json.loads(sys.argv[3])
def ref(kind):
    vals = [t["avg_ts"] for r in refs for t in r if (t["n_prompt"] > 0) == (kind == "pp")]
    return sum(vals) / len(vals)
pp, tg = ref("pp"), ref("tg")
rows = [
    ("prompt tokens/s (pp512)", ours["prompt_tps"], pp, 0.90),
    ("generation tokens/s (tg128)", ours["gen_tps"], tg, 0.95),
]
print(f"{'metric':32} {'scry':>10} {'llama-bench':>12} {'ratio':>7} {'target':>7}")
for name, a, b, target in rows:
    print(f"{name:32} {a:10.1f} {b:12.1f} {a/b:7.0%} {target:7.0%}")
print(f"{'TTFT, packed context (ms)':32} {ours['ttft_packed_ms']:10.0f}   ({ours['ttft_prompt_tokens']} prompt tokens, {ours['packed_pieces']} pieces)")
print(f"{'RSS before load (MiB)':32} {ours['rss_before_mib']:10.1f}")
print(f"{'RSS after load (MiB)':32} {ours['rss_loaded_mib']:10.1f}")
print(f"{'RSS after unload (MiB)':32} {ours['rss_unloaded_mib']:10.1f}   ({ours['rss_unloaded_mib']-ours['rss_before_mib']:+.1f} vs before; target within 20)")
PY
