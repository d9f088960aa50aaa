#!/usr/bin/env bash
# Resident memory of `serve` on large logs, against 127.0.0.1 only; stops by itself.
#
#   bench/memory.sh [ENTRIES...]     (default: 100000 10000000; SQLite)
#
# For each size:
#   1. builds a log of at least ENTRIES operator notes with examples/build_log.rs, which appends
#      through the service's own path (Service::append_operator_note: sign, sequence, write,
#      commit) with thousands of appends in flight, without HTTP; the test-only key. A log
#      already in $MEMORY_LOGS/ENTRIES (kept between runs when MEMORY_LOGS is set) is grown,
#      not rebuilt;
#   2. starts the release `serve` on it and reads VmRSS once it answers;
#   3. puts a short load on it: appends (wrk, 256 clients) then inclusion proofs at random
#      indexes over the whole log and tiles (wrk, 64 clients), $DURATION each;
#   4. reports VmRSS and VmHWM (the peak) after the load.
# Needs wrk and curl. A 10^7 log takes about 5 GB of disk and a while to build.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100000 10000000)
cargo build --release --quiet --bin provenance --example build_log
BIN="${CARGO_TARGET_DIR:-target}/release/provenance"
BUILD_LOG="${CARGO_TARGET_DIR:-target}/release/examples/build_log"
work="$(mktemp -d)"
logs="${MEMORY_LOGS:-$work/logs}"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$port"
cp keys/test-only/log.key "$work/log.key"; chmod 600 "$work/log.key"
mib() { awk -v k="$1" '$1 == k":" {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status"; }

echo "# memory benchmark $(date -u +%FT%TZ) on $(nproc) cores; SQLite; load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${sizes[@]}"; do
  dir="$logs/$n"
  mkdir -p "$dir"
  url="sqlite://$dir/provenance.db"
  t0=$(date +%s.%N)
  "$BUILD_LOG" "$url" "$work/log.key" "$n"
  t1=$(date +%s.%N)
  echo "log of $n: built or grown in $(python3 -c "print(round($t1 - $t0))") s; $(du -sh "$dir" | cut -f1) on disk"
  TOKEN=$("$BIN" accounts create --name "memory-$RANDOM" --role operator --database-url "$url" --data-dir "$dir" 2>/dev/null)
  export TOKEN
  PROVENANCE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir" --database-url "$url" \
      --key-file "$work/log.key" &
  pid=$!
  for _ in $(seq 600); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  echo "  serve started: VmRSS $(mib VmRSS)"
  appends=$(wrk -t2 -c256 -d"$DURATION" -s bench/append.lua "$BASE" | awk '/Requests\/sec/ {print $2}')
  size=$(curl -fs "$BASE/log/checkpoint" | sed -n 2p)
  echo "  after appends ($appends/s, 256 clients): VmRSS $(mib VmRSS); log size $size"
  reads=$(SIZE="$size" wrk -t2 -c64 -d"$DURATION" -s bench/reads.lua "$BASE" | awk '/Requests\/sec/ {print $2}')
  echo "  after proofs at random indexes and tiles ($reads/s, 64 clients): VmRSS $(mib VmRSS), VmHWM (peak) $(mib VmHWM)"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
