#!/usr/bin/env bash
# Regenerate the known-answer vectors under contracts/ with Go's x/mod
# sumdb/tlog and sumdb/note (offline), after checking Go against the
# published vectors. With --check, fail if the committed files differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$root/interop/go" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on go run ./cmd/genvectors -contracts "$root/contracts")
if [ "${1:-}" = "--check" ]; then
  git -C "$root" diff --exit-code -- contracts/rfc6962 contracts/signed-note
  echo "contracts/ vectors are up to date"
fi
