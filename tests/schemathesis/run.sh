#!/usr/bin/env bash
# Property-based tests of the running service against contracts/openapi.json with schemathesis:
# no 5xx, and every status code, content type, header and body as the contract says.
# Usage: tests/schemathesis/run.sh [path/to/provenance]   (default: target/debug/provenance)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/debug/provenance}
VENV=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
if [[ ! -x "$VENV/bin/st" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis==4.32.5'
fi

DATA=$(mktemp -d)
SERVE_PID=
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
# A random port can be taken (once, in CI, the service never answered on it): try another
# port a few times, and show the service's log if none works.
for attempt in 1 2 3; do
  PORT=$((20000 + RANDOM % 20000))
  SERVER="http://127.0.0.1:$PORT"
  "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 100); do curl -fsS "$SERVER/healthz" >/dev/null 2>&1 && break 2; sleep 0.1; done
  echo "the service did not answer on port $PORT (attempt $attempt):" >&2
  tail -n 20 "$DATA/serve.log" >&2
  kill $SERVE_PID 2>/dev/null || true
  wait $SERVE_PID 2>/dev/null || true
  if [[ $attempt == 3 ]]; then exit 1; fi
done

# Something to find: a work, and a publisher with an attribution of it, so that the generated
# requests reach real resources (ids 0 and 1) and not only 404s.
RH=$("$BIN" accounts create --data-dir "$DATA" --name studio --role rights-holder 2>/dev/null)
PUB=$("$BIN" accounts create --data-dir "$DATA" --name newsroom --role publisher 2>/dev/null)
IMAGE=contracts/pdq-fixtures/chelsea.png
curl -fsS -H "Authorization: Bearer $RH" -F image=@$IMAGE -F title=Chelsea -F creator=S \
  -F license=CC-BY-4.0 "$SERVER/v1/works" >/dev/null
curl -fsS -H "Authorization: Bearer $PUB" -F image=@$IMAGE "$SERVER/v1/attributions" >/dev/null

run() {
  "$VENV/bin/st" run "$SERVER/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-30}" --workers 1 --seed 1 \
    --suppress-health-check all --warnings off "$@"
}
status=0
run -H "Authorization: Bearer $PUB" || status=1
run -H "Authorization: Bearer $RH" --include-method POST --include-method PUT --include-method DELETE || status=1
if grep -q "panicked" "$DATA/serve.log"; then
  echo "the service panicked:" >&2
  grep -A5 panicked "$DATA/serve.log" >&2
  status=1
fi
exit $status
