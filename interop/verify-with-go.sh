#!/usr/bin/env bash
# Check a running Provenance Ledger server with Go's sumdb/note and sumdb/tlog.
#
# Usage: interop/verify-with-go.sh BASE_URL [OLD_SIZE [NEW_SIZE]]
#
#   BASE_URL   e.g. http://127.0.0.1:8080 (the server root; tiles are under /log/)
#   OLD_SIZE   older tree size for the consistency check. Default: the size of
#              the checkpoint saved by the previous run in $TLOGCHECK_STATE_DIR,
#              else half the current size.
#   NEW_SIZE   newer tree size. Default: the current checkpoint's size.
#
# Environment:
#   LEDGER_KEY_FILE      the log's verifier key, obtained out of band (recommended).
#                        If unset, the key is fetched from BASE_URL/log/key, which
#                        only proves the server is consistent with itself.
#   TLOGCHECK_STATE_DIR  where the last verified checkpoint is kept between runs
#                        (default .tlogcheck-state in the current directory). When a
#                        saved checkpoint exists and OLD_SIZE is its size, the
#                        consistency proof's old checkpoint must match it exactly.
#   TLOGCHECK_BIN        use this tlogcheck binary instead of building one.
#
# Exit status: 0 if every check passed, 1 if any failed, 2 on usage error.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
base="${1%/}"
here="$(cd "$(dirname "$0")" && pwd)"
state="${TLOGCHECK_STATE_DIR:-.tlogcheck-state}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ -n "${TLOGCHECK_BIN:-}" ]; then
  bin="$TLOGCHECK_BIN"
else
  # Offline build against the Debian golang-golang-x-mod-dev sources (see go.mod).
  (cd "$here/go" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on go build -o "$tmp/tlogcheck" ./cmd/tlogcheck)
  bin="$tmp/tlogcheck"
fi

failures=0
step() { # step NAME COMMAND...
  local name="$1"; shift
  local out rc
  set +e; out="$("$@" 2>&1)"; rc=$?; set -e
  if [ "$rc" = 0 ]; then
    echo "PASS $name: $out"
  else
    echo "FAIL $name: $out"
    failures=$((failures+1))
  fi
  return 0
}
fetch() { curl -fsS --max-time 60 -o "$2" "$1"; }

if [ -n "${LEDGER_KEY_FILE:-}" ]; then
  cp "$LEDGER_KEY_FILE" "$tmp/key"
else
  echo "note: LEDGER_KEY_FILE unset; trusting the key served at $base/log/key"
  fetch "$base/log/key" "$tmp/key"
fi

# 1. Checkpoint signature and format.
fetch "$base/log/checkpoint" "$tmp/checkpoint"
step "checkpoint" "$bin" checkpoint --key "$tmp/key" "$tmp/checkpoint"
size="$(sed -n 2p "$tmp/checkpoint")"
case "$size" in ''|*[!0-9]*) echo "FAIL checkpoint: no decimal size on line 2"; exit 1;; esac

# 2. Receipts for the first, a middle and the last entry.
if [ "$size" -gt 0 ]; then
  for i in $(printf '%s\n' 0 $((size / 2)) $((size - 1)) | sort -nu); do
    fetch "$base/v1/log/receipts/$i" "$tmp/receipt-$i.json"
    step "receipt $i" "$bin" receipt --key "$tmp/key" --index "$i" "$tmp/receipt-$i.json"
  done
else
  echo "SKIP receipts: the log is empty"
fi

# 3. Consistency between an older and the current (or given) size.
saved="$state/checkpoint"
new="${3:-$size}"
if [ -n "${2:-}" ]; then
  old="$2"
elif [ -f "$saved" ]; then
  old="$(sed -n 2p "$saved")"
else
  old=$((size / 2)); [ "$old" -lt 1 ] && old="$size"
fi
expect=()
if [ -f "$saved" ] && [ "$(sed -n 2p "$saved")" = "$old" ]; then
  expect=(--expect-old "$saved")
fi
fetch "$base/v1/log/proof/consistency?old_size=$old&new_size=$new" "$tmp/consistency.json"
step "consistency $old->$new" "$bin" consistency --key "$tmp/key" "${expect[@]}" "$tmp/consistency.json"

# 4. tlog-tiles: tree hash from tiles, every entry bundle against level-0 tiles.
step "tiles" "$bin" tiles --key "$tmp/key" --url "$base/log"

if [ "$failures" -gt 0 ]; then
  echo "verify-with-go: $failures check(s) FAILED"
  exit 1
fi
mkdir -p "$state"
cp "$tmp/checkpoint" "$saved"
echo "verify-with-go: all checks passed (checkpoint of size $size saved to $saved)"
