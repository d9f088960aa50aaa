#!/usr/bin/env bash
# Audit speed over a large log, against 127.0.0.1 only; stops by itself.
#
#   bench/audit.sh [ENTRIES]        (default 1000000; a fresh SQLite file)
#
# 1. Builds a log of at least ENTRIES operator notes: the release service with group commit,
#    appended by wrk with 256 clients (bench/append.lua), the test-only key.
# 2. Restarts the service (no tiles in its memory), then times, in this order:
#    a. baseline: downloading every entry bundle and level-0 hash tile with curl, 4 at a time
#       (the transfer floor: the audit fetches exactly these);
#    b. baseline: the log's Ed25519 signature alone on every downloaded entry, on every core,
#       one by one and batched per bundle (benches/audit_baseline.rs);
#    c. `provenance audit` from nothing (no state), with its default batched signature checks
#       and with --strict-signatures (one by one), then once more after 10,000 new entries,
#       resuming from the state it saved.
# Needs wrk and curl (apt-get install wrk curl).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --quiet --bin provenance
cargo bench --no-run --quiet --bench audit_baseline 2>/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/provenance"
KEY_PUB=keys/test-only/log.pub
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$port"
cp keys/test-only/log.key "$work/log.key"; chmod 600 "$work/log.key"
URL="sqlite://$work/provenance.db"
TOKEN=$("$BIN" accounts create --name bench --role operator --database-url "$URL" --data-dir "$work" 2>/dev/null)
export TOKEN
start() {
  PROVENANCE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work" --database-url "$URL" \
      --key-file "$work/log.key" --max-batch 4096 &
  pid=$!
  for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
size() { curl -fs "$BASE/log/checkpoint" | sed -n 2p; }
now() { date +%s.%N; }
rate() { python3 -c "print(round($1 / ($3 - $2)))"; }

echo "# audit benchmark $(date -u +%FT%TZ) on $(nproc) cores; SQLite; target $N entries"
start
t0=$(now)
while [ "$(size)" -lt "$N" ]; do
  wrk -t2 -c256 -d20s -s bench/append.lua "$BASE" >/dev/null
done
t1=$(now)
SIZE=$(size)
echo "log built: $SIZE entries in $(python3 -c "print(round($t1 - $t0))") s ($(rate "$SIZE" "$t0" "$t1") appends/s)"
echo "database: $(du -sh "$work/provenance.db" | cut -f1)"

stop; start
# a. curl download of every tile the audit reads.
python3 - "$SIZE" "$BASE" "$work" > "$work/curl.cfg" <<'PY'
import sys
size, base, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def path(index):
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join("x" + g for g in groups[:-1]) + ("/" if len(groups) > 1 else "") + groups[-1]
for index in range((size + 255) // 256):
    width = min(256, size - index * 256)
    suffix = "" if width == 256 else f".p/{width}"
    for kind, out in (("entries", "bundles"), ("0", "hashes")):
        print(f'url = "{base}/log/tile/{kind}/{path(index)}{suffix}"')
        print(f'output = "{work}/{out}/{index:08d}"')
PY
mkdir -p "$work/bundles" "$work/hashes"
t0=$(now)
curl -sf --no-progress-meter --parallel --parallel-max 4 --create-dirs -K "$work/curl.cfg"
t1=$(now)
got=$(ls "$work/bundles" | wc -l)
download=$(rate "$SIZE" "$t0" "$t1")
echo "baseline: curl download of $got entry bundles and their hash tiles ($(du -sh "$work/bundles" | cut -f1) of entries), 4 at a time: $download entries/s"

# b. signatures alone.
AUDIT_BASELINE_BUNDLES="$work/bundles" AUDIT_BASELINE_KEY="$KEY_PUB" \
  cargo bench --quiet --bench audit_baseline 2>/dev/null | grep 'signature-only' > "$work/signatures.txt"
sed 's/^/baseline: /' "$work/signatures.txt"
one_by_one=$(grep 'one by one' "$work/signatures.txt" | awk '{print $(NF-1)}')
batched=$(grep 'batched' "$work/signatures.txt" | awk '{print $(NF-1)}')
rm -rf "$work/bundles" "$work/hashes"

# c. the audit itself, from nothing, against a freshly started service; strict first, so the
#    state the resumed run reads comes from the default mode.
for mode in --strict-signatures ""; do
  stop; start
  rm -f "$work/state.json"
  t0=$(now)
  # shellcheck disable=SC2086 # an empty mode must vanish
  "$BIN" audit --server "$BASE" --key "$KEY_PUB" --state "$work/state.json" --json $mode > "$work/audit.json"
  t1=$(now)
  audit=$(rate "$SIZE" "$t0" "$t1")
  echo "provenance audit ${mode:-(default, batched signatures)} from nothing: $SIZE entries in $(python3 -c "print(round($t1 - $t0, 1))") s: $audit entries/s (wall clock, process start to exit)"
  echo "  summary: $(cat "$work/audit.json")"
  echo "  ratio to the curl download: $(python3 -c "print(round($audit / $download, 2))")"
  echo "  ratio to signatures alone, one by one: $(python3 -c "print(round($audit / $one_by_one, 2))"); batched: $(python3 -c "print(round($audit / $batched, 2))")"
done

# And a resumed audit after 10,000 more entries.
before=$(size)
while [ "$(size)" -lt $((before + 10000)) ]; do
  wrk -t2 -c64 -d1s -s bench/append.lua "$BASE" >/dev/null
done
"$BIN" audit --server "$BASE" --key "$KEY_PUB" --state "$work/state.json" --json > "$work/audit2.json"
echo "provenance audit (resumed from the state): $(cat "$work/audit2.json")"
echo "resident memory of serve: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
