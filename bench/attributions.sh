#!/usr/bin/env bash
# Attributions recorded per second, end to end over HTTP with a 1 MP upload each, next to the
# same run's baseline: fingerprinting the same files alone, one `provenance fingerprint` process
# per core. The target is a service limited by fingerprinting.
#
#   bench/attributions.sh [N]        (default 600; needs python3 with Pillow, curl and wrk)
#
# The registry holds the repository's fixture photographs (CC BY 4.0); every upload is a
# different 1152x864 JPEG copy of one of the photographs (a random crop of at most 2%, scale and colour
# shift), so each is fingerprinted, matched, evaluated and recorded for real. Uploads run for
# $SECONDS_RUN (default 30) seconds with $CLIENTS (default 16) concurrent connections of one
# wrk process (bench/attributions.lua: the bodies are built once, in memory, so the client
# costs little CPU) against a release `provenance serve` on SQLite, going round the files.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-600}"
CLIENTS="${CLIENTS:-16}"
SECONDS_RUN="${SECONDS_RUN:-30}"
cargo build --release --quiet --bin provenance
BIN="$PWD/target/release/provenance"
corpus="bench/out/attribution-corpus"
if [ "$(find "$corpus" -name '*.jpg' 2>/dev/null | wc -l)" -ne "$N" ]; then
  rm -rf "$corpus" && mkdir -p "$corpus"
  python3 - "$corpus" "$N" <<'PY'
import random, sys
from pathlib import Path
from PIL import Image, ImageEnhance
out, n = Path(sys.argv[1]), int(sys.argv[2])
# The photographs among the fixtures; the synthetic ones (flat, noise, stripes, shapes) are
# there to test the matcher's limits, not to stand for uploads.
photos = ["astronaut.png", "camera.png", "chelsea.png", "coffee.jpg", "coins.png",
          "hubble.png", "retina.png", "rocket.jpg"]
sources = [Image.open(Path("contracts/pdq-fixtures") / name).convert("RGB") for name in photos]
rng = random.Random(7)
for i in range(n):
    src = rng.choice(sources)
    w, h = src.size
    cw, ch = int(w * rng.uniform(0.98, 1.0)), int(h * rng.uniform(0.98, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = src.crop((x, y, x + cw, y + ch)).resize((1152, 864), Image.BICUBIC)
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.9, 1.1))
    img.save(out / f"copy-{i:05d}.jpg", quality=90)
PY
fi
work="$(mktemp -d)"
cores=$(nproc)
port=$((20000 + RANDOM % 20000))
server="http://127.0.0.1:$port"
"$BIN" keygen --origin bench.invalid/provenance --out "$work/log.key" > /dev/null
PROVENANCE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --key-file "$work/log.key" > "$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fsS "$server/healthz" > /dev/null 2>&1 && break; sleep 0.1; done
rh=$("$BIN" accounts create --data-dir "$work/data" --name studio --role rights-holder 2>/dev/null)
pub=$("$BIN" accounts create --data-dir "$work/data" --name newsroom --role publisher 2>/dev/null)
for image in contracts/pdq-fixtures/*.png contracts/pdq-fixtures/*.jpg; do
  case "$image" in *crop*) continue ;; esac
  curl -sS -o /dev/null -H "Authorization: Bearer $rh" -F "image=@$image" \
    -F "title=$(basename "$image")" -F creator=Bench -F license=CC-BY-4.0 "$server/v1/works"
done

echo "# attribution benchmark $(date -u +%FT%TZ) on $cores cores: $N JPEGs of 1152x864 (1.0 MP)"
start=$(date +%s.%N)
find "$corpus" -name '*.jpg' | sort | split -n "r/$cores" - "$work/part-"
fingerprinters=()
for part in "$work"/part-*; do
  xargs -a "$part" "$BIN" fingerprint > /dev/null &
  fingerprinters+=($!)
done
wait "${fingerprinters[@]}"   # not the service, which runs in the background too
fp_secs=$(echo "$(date +%s.%N) - $start" | bc)
fp_rate=$(echo "scale=1; $N / $fp_secs" | bc)
echo "fingerprinting alone, $cores processes (baseline): $fp_rate files/s"

find "$corpus" -name '*.jpg' | sort > "$work/files"
if [ -n "${PERF_OUT:-}" ]; then   # a profile of the service under this load, for `perf report`
  perf record -F 499 -g -p "$serve_pid" -o "$PERF_OUT" -- sleep "$SECONDS_RUN" 2> /dev/null &
fi
FILES="$work/files" TOKEN="$pub" wrk -t2 -c "$CLIENTS" -d "${SECONDS_RUN}s" --timeout 30s \
  -s bench/attributions.lua "$server" > "$work/wrk.out"
read -r _ recorded _ unmatched _ other _ rec_secs _ p50 _ p99 < <(grep '^created' "$work/wrk.out")
rec_rate=$(echo "scale=1; $recorded / $rec_secs" | bc)
echo "attributions recorded over HTTP, $CLIENTS connections for ${rec_secs}s: $recorded: $rec_rate attributions/s (latency p50 ${p50} ms, p99 ${p99} ms)"
echo "ratio to fingerprinting alone: $(echo "scale=2; $rec_rate / $fp_rate" | bc)"
# A copy the matcher misses (a crop, mostly) is answered 422 no_match, correctly; anything
# else is a failure of the run.
echo "answered 422 no_match (copies the global matcher misses): $unmatched"
if [ "$other" -ne 0 ]; then
  echo "$other answers were neither 201 nor 422" >&2
  exit 1
fi
