#!/usr/bin/env bash
# Whole-service load test against 127.0.0.1 only; stops by itself.
#
#   bench/load.sh [DATABASE_URL]     (default: a fresh SQLite file)
#
# Measures, in one run:
#   1. appends/s with 256 concurrent clients (wrk), next to the same load with group commit
#      switched off (--max-batch 1) as the baseline;
#   2. append latency at a fixed 1,000 appends/s (hey, 50 clients x 20/s): p50/p99;
#   3. proof and tile reads/s (wrk), next to GET /healthz (the HTTP floor) as the baseline;
#   4. resident memory of serve after the run.
# `bench/memory.sh` measures resident memory on logs of 10^5 and 10^7 entries.
# Needs wrk and hey (apt-get install wrk hey).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
DB_URL="${1:-}"
# BIN=PATH measures another build of the binary (say, the last release, as a baseline).
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin provenance
  BIN="${CARGO_TARGET_DIR:-target}/release/provenance"
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # start MAX_BATCH -> sets pid, BASE, TOKEN
  local batch="$1" dir="$work/run-$1" url
  mkdir -p "$dir"
  url="${DB_URL:-sqlite://$dir/provenance.db}"
  if [[ "$url" == postgres* ]]; then
    psql -q "$url" -c 'DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench;' >/dev/null
    url="$url?options=-csearch_path%3Dbench"
  fi
  TOKEN=$("$BIN" accounts create --name "load$batch" --role operator --database-url "$url" --data-dir "$dir" 2>/dev/null)
  local p; p=$(port)
  BASE="http://127.0.0.1:$p"
  PROVENANCE_LOG=warn "$BIN" serve --listen "127.0.0.1:$p" --data-dir "$dir" --database-url "$url" --max-batch "$batch" &
  pid=$!
  for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  export TOKEN
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
rate() { awk '/Requests\/sec/ {print $2}'; }
# CPU seconds serve has used, user and system; with the log's growth, its CPU per append, a
# figure other work on the machine disturbs less than the rate.
cpu() { awk -v tick="$(getconf CLK_TCK)" '{print ($14 + $15) / tick}' "/proc/$pid/stat"; }
size() { curl -fs "$BASE/log/checkpoint" | sed -n 2p; }

echo "# load test $(date -u +%FT%TZ) on $(nproc) cores; database: ${DB_URL:-sqlite}; load $(cut -d' ' -f1-3 /proc/loadavg)"

start 1
base_rate=$(wrk -t2 -c256 -d"$DURATION" -s bench/append.lua "$BASE" | rate)
stop
echo "appends/s, 256 clients, no group commit (--max-batch 1, baseline): $base_rate"

start 4096
size0=$(size); cpu0=$(cpu)
wrk -t2 -c256 -d"$DURATION" --latency -s bench/append.lua "$BASE" > "$work/appends.txt"
size1=$(size); cpu1=$(cpu)
echo "appends/s, 256 clients, group commit: $(rate < "$work/appends.txt")"
echo "  serve CPU per append: $(python3 -c "print(round(($cpu1 - $cpu0) / ($size1 - $size0) * 1e6))") us"
grep -E '^ +(50|99)%' "$work/appends.txt" | sed 's/^ */  latency at 256 clients /'
hey -z "$DURATION" -c 50 -q 20 -m POST -T application/json \
    -H "Authorization: Bearer $TOKEN" -d '{"text":"fixed-rate note"}' \
    "$BASE/v1/log/entries" > "$work/fixed.txt"
echo "fixed 1,000 appends/s offered: $(awk '/Requests\/sec/ {print $2}' "$work/fixed.txt") achieved"
grep -E '(50|99)% in' "$work/fixed.txt" | sed 's/^ */  latency /'
grep -E '^\s+\[[0-9]+\]' "$work/fixed.txt" | sed 's/^ */  status /'
size=$(size)
echo "log size after the append runs: $size"
[ "$size" -gt 256000 ] && size=256000
floor=$(wrk -t2 -c64 -d"$DURATION" "$BASE/healthz" | rate)
reads=$(SIZE="$size" wrk -t2 -c64 -d"$DURATION" -s bench/reads.lua "$BASE" | rate)
echo "reads/s (inclusion proofs and full tiles, 64 clients): $reads"
echo "GET /healthz/s (HTTP floor, baseline): $floor"
echo "resident memory of serve: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
