#!/usr/bin/env bash
# End-to-end tests of the web client and consoles in Debian's headless chromium.
#
#   web/e2e/run.sh target/debug/ucplus [tests/02-calls.test.mjs ...]
#
# Builds nothing: takes the ucplus binary, makes a vendor key, starts
# `ucplus demo` on a free loopback port (trusting that key, without generated call
# traffic so the phones are quiet), runs the tests with node's test runner and stops
# the server. UCPLUS_SCREENSHOTS=DIR saves screenshots of the main views there
# (docs/screenshots to refresh the README's). Needs /usr/bin/chromium and `npm ci` in
# web/e2e; without them it skips, except under CI=true, where it fails.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/ucplus [test files...]" >&2
  exit 2
fi
binary=$(realpath "$1")
shift
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/)
here=$(cd "$(dirname "$0")" && pwd)

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "web e2e: $1 — failing (CI=true: nothing may be skipped)" >&2
    exit 1
  fi
  echo "web e2e: SKIPPED: $1" >&2
  exit 0
}
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing "chromium not found (apt-get install -y chromium)"
[ -d "$here/node_modules/playwright-core" ] || missing "playwright-core not installed (npm ci in web/e2e)"
[ -x "$binary" ] || { echo "web e2e: no executable at $1" >&2; exit 2; }

if [ -n "${UCPLUS_SCREENSHOTS:-}" ]; then
  mkdir -p "$UCPLUS_SCREENSHOTS"
  UCPLUS_SCREENSHOTS=$(realpath "$UCPLUS_SCREENSHOTS")
  export UCPLUS_SCREENSHOTS
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
public_key=$("$binary" license keygen --out "$work/vendor.key")

UCPLUS_LICENSE_PUBLIC_KEYS="$public_key" UCPLUS_DEMO_TRAFFIC=0 UCPLUS_ADMIN_PASSWORD=demo-admin \
  "$binary" demo --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1 && grep -q "ucplus demo running" "$work/server.log"; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "web e2e: the demo server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

started=$(date +%s)
status=0
(
  cd "$here"
  UCPLUS_URL="$url" UCPLUS_BIN="$binary" UCPLUS_VENDOR_KEY="$work/vendor.key" \
    node --test --test-concurrency=1 --test-timeout=90000 --test-reporter=spec "${tests[@]}"
) || status=$?
echo "web e2e: finished in $(( $(date +%s) - started )) s"
if [ "$status" -ne 0 ]; then
  echo "web e2e: the server's log (last 40 lines):" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"
