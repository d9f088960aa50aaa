#!/usr/bin/env bash
# Attributions recorded per second, end to end over HTTP with a 1 MP upload each, next to the
# same run's baseline: fingerprinting the same files alone, one `provenance fingerprint` process
# per core. The target is a service limited by fingerprinting.
#
#   bench/attributions.sh [N]        (default 600; needs python3 with Pillow, and curl)
#
# The registry holds the repository's fixture photographs (CC BY 4.0); every upload is a
# different 1152x864 JPEG copy of one of the photographs (a random crop of at most 2%, scale and colour
# shift), so each is fingerprinted, matched, evaluated and recorded for real. Uploads run with
# $CLIENTS (default 16) concurrent clients against a release `provenance serve` on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-600}"
CLIENTS="${CLIENTS:-16}"
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

start=$(date +%s.%N)
find "$corpus" -name '*.jpg' | sort | xargs -P "$CLIENTS" -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
  -H "Authorization: Bearer $pub" -F "image=@{}" -F commercial=false -F adaptation=verbatim \
  "$server/v1/attributions" > "$work/codes"
rec_secs=$(echo "$(date +%s.%N) - $start" | bc)
recorded=$(grep -c '^201$' "$work/codes" || true)
rec_rate=$(echo "scale=1; $recorded / $rec_secs" | bc)
echo "attributions recorded over HTTP, $CLIENTS clients: $recorded of $N in ${rec_secs}s: $rec_rate attributions/s"
echo "ratio to fingerprinting alone: $(echo "scale=2; $rec_rate / $fp_rate" | bc)"
# A copy the matcher misses (a crop, mostly) is answered 422 no_match, correctly; anything
# else is a failure of the run.
unmatched=$(grep -c '^422$' "$work/codes" || true)
echo "answered 422 no_match (copies the global matcher misses): $unmatched"
if [ $((recorded + unmatched)) -ne "$N" ]; then
  echo "unexpected answers:" >&2
  sort "$work/codes" | uniq -c >&2
  exit 1
fi
