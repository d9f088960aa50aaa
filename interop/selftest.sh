#!/usr/bin/env bash
# Self-test of the Go verifier, no Rust server needed:
#  1. build tlogcheck and ledgerfixture (offline, against Debian's x/mod);
#  2. generate a deterministic fixture log plus tampered copies;
#  3. run every MANIFEST case (good ones must pass, tampered ones must fail,
#     tiles cases served by `python3 -m http.server`);
#  4. serve the fixture log's HTTP API with `ledgerfixture -serve` and run
#     verify-with-go.sh against it end to end.
# Usage: interop/selftest.sh [N_ENTRIES [OLD_SIZE]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-1000}"
old="${2:-300}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on
(cd "$here/go" && go build -o "$work/bin/" ./cmd/tlogcheck ./cmd/ledgerfixture)
"$work/bin/ledgerfixture" -out "$work/fx" -n "$n" -old "$old"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not come up" >&2; return 1
}

port="$(free_port)"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/fx" >"$work/http.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/key.txt"

pass=0; bad=0
while read -r expect sub path; do
  [ -z "$expect" ] && continue
  if [ "$sub" = tiles ]; then
    args=(tiles --key "$work/fx/key.txt" --url "http://127.0.0.1:$port/$path")
  else
    args=("$sub" --key "$work/fx/key.txt" "$work/fx/$path")
  fi
  set +e
  msg="$("$work/bin/tlogcheck" "${args[@]}" 2>&1)"; rc=$?
  set -e
  want=0; [ "$expect" = fail ] && want=1
  if [ "$rc" = "$want" ]; then
    pass=$((pass+1)); printf 'ok   %-5s %-11s %s\n     %s\n' "$expect" "$sub" "$path" "$msg"
  else
    bad=$((bad+1)); printf 'BAD  expected %s (exit %s), got exit %s: %s %s\n     %s\n' "$expect" "$want" "$rc" "$sub" "$path" "$msg"
  fi
done <"$work/fx/MANIFEST"

# Usage errors exit 2.
set +e
"$work/bin/tlogcheck" >/dev/null 2>&1; r1=$?
"$work/bin/tlogcheck" receipt "$work/fx/good/receipt-0.json" >/dev/null 2>&1; r2=$?
set -e
if [ "$r1" = 2 ] && [ "$r2" = 2 ]; then pass=$((pass+1)); echo "ok   usage errors exit 2"; else bad=$((bad+1)); echo "BAD  usage errors exit $r1/$r2, want 2"; fi

# End to end: verify-with-go.sh against the fixture API server.
aport="$(free_port)"
"$work/bin/ledgerfixture" -out "$work/fx-api" -n "$n" -old "$old" -serve "127.0.0.1:$aport" >"$work/api.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$aport/log/checkpoint"
if TLOGCHECK_STATE_DIR="$work/state" "$here/verify-with-go.sh" "http://127.0.0.1:$aport" "$old"; then
  pass=$((pass+1)); echo "ok   verify-with-go.sh against the fixture server"
else
  bad=$((bad+1)); echo "BAD  verify-with-go.sh against the fixture server failed"
fi

echo "selftest: $pass passed, $bad wrong"
[ "$bad" = 0 ]
