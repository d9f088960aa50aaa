#!/usr/bin/env bash
# Bulk import throughput: `provenance works import` of N photographs into a fresh SQLite
# database, next to the same run's baseline: fingerprinting the same files alone, with one
# `provenance fingerprint` process per core. The target is an import limited by fingerprinting.
#
#   bench/import.sh [N]        (default 10000; needs python3 with Pillow)
#
# The photographs are 1024x768 JPEGs cut from the repository's fixture photos (random crops,
# scales and colour shifts, so every file differs); they are generated once into
# bench/out/import-corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000}"
cargo build --release --quiet --bin provenance
BIN="$PWD/target/release/provenance"
corpus="bench/out/import-corpus"
if [ "$(find "$corpus" -name '*.jpg' 2>/dev/null | wc -l)" -ne "$N" ]; then
  rm -rf "$corpus" && mkdir -p "$corpus"
  python3 - "$corpus" "$N" <<'EOF'
import random, sys
from pathlib import Path
from PIL import Image, ImageEnhance
out, n = Path(sys.argv[1]), int(sys.argv[2])
sources = [Image.open(p).convert("RGB") for p in sorted(Path("contracts/pdq-fixtures").glob("*"))
           if p.suffix in (".png", ".jpg")]
rng = random.Random(1)
for i in range(n):
    src = rng.choice(sources)
    w, h = src.size
    cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = src.crop((x, y, x + cw, y + ch)).resize((1024, 768), Image.BICUBIC)
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.5, 1.5))
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.7, 1.3))
    img.save(out / f"photo-{i:05d}.jpg", quality=88)
EOF
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cores=$(nproc)

echo "# import benchmark $(date -u +%FT%TZ) on $cores cores: $N JPEGs of 1024x768"
start=$(date +%s.%N)
find "$corpus" -name '*.jpg' | sort | split -n "r/$cores" - "$work/part-"
for part in "$work"/part-*; do
  xargs -a "$part" "$BIN" fingerprint > /dev/null &
done
wait
fp_secs=$(echo "$(date +%s.%N) - $start" | bc)
echo "fingerprinting alone, $cores processes (baseline): $(echo "$N / $fp_secs" | bc) files/s"

url="sqlite://$work/import.db"
"$BIN" keygen --origin bench.invalid/provenance --out "$work/log.key" > /dev/null
token=$("$BIN" accounts create --name bench --role rights-holder --database-url "$url" 2>/dev/null)
start=$(date +%s.%N)
PROVENANCE_LOG=warn "$BIN" works import "$corpus" --license CC-BY-4.0 --creator Bench \
  --token "$token" --database-url "$url" --key-file "$work/log.key" --jobs $((cores * 4)) \
  > "$work/import.jsonl" 2> /dev/null
import_secs=$(echo "$(date +%s.%N) - $start" | bc)
registered=$(grep -c '"registered"' "$work/import.jsonl" || true)
echo "works import into SQLite: $registered registered, $(echo "$N / $import_secs" | bc) files/s"
echo "import / fingerprinting alone: $(echo "scale=2; $fp_secs / $import_secs" | bc)"
