#!/usr/bin/env bash
# End-to-end tests of the web client and consoles in Debian's headless chromium.
#
#   web/e2e/run.sh target/debug/ucplus [tests/02-calls.test.mjs ...]
#
# Builds nothing: takes the ucplus binary and makes a vendor key; then, for each test file
# on its own, starts a fresh `ucplus demo` on a loopback port the server picks itself
# (trusting that key, without generated call traffic so the phones are quiet), runs the
# file with node's test runner and stops the server — so no file sees what another one
# changed, and one failing file does not hide the others. UCPLUS_SCREENSHOTS=DIR saves
# screenshots of the main views there (docs/screenshots to refresh the README's).
#
# Needs /usr/bin/chromium and `npm ci` in web/e2e. Without them it prints
# `web e2e: SKIPPED: <reason>` and exits 75 (EX_TEMPFAIL: scripts/test reports the skip),
# except under CI=true, where nothing may be skipped and it fails.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 path/to/ucplus [test files...]" >&2
  exit 2
fi
binary=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "web e2e: $1 — failing (CI=true: nothing may be skipped)" >&2
    exit 1
  fi
  echo "web e2e: SKIPPED: $1" >&2
  exit 75
}
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing "chromium not found (apt-get install -y chromium)"
[ -d "$here/node_modules/playwright-core" ] || missing "playwright-core not installed (npm ci in web/e2e)"
[ -f "$here/node_modules/axe-core/axe.min.js" ] || missing "axe-core not installed (npm ci in web/e2e)"
[ -x "$binary" ] || { echo "web e2e: no executable at $binary" >&2; exit 2; }

# The test files, relative to web/e2e: a directory stands for its *.test.mjs files.
files=()
for argument in "${@:-tests/}"; do
  if [ -d "$here/$argument" ]; then
    while IFS= read -r file; do files+=("$file"); done \
      < <(cd "$here" && find "${argument%/}" -maxdepth 1 -name '*.test.mjs' | sort)
  elif [ -f "$here/$argument" ]; then
    files+=("$argument")
  else
    echo "web e2e: no test file or folder $argument in $here" >&2
    exit 2
  fi
done
[ ${#files[@]} -gt 0 ] || { echo "web e2e: no test files in $*" >&2; exit 2; }

if [ -n "${UCPLUS_SCREENSHOTS:-}" ]; then
  mkdir -p "$UCPLUS_SCREENSHOTS"
  UCPLUS_SCREENSHOTS=$(realpath "$UCPLUS_SCREENSHOTS")
  export UCPLUS_SCREENSHOTS
fi

work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

public_key=$("$binary" license keygen --out "$work/vendor.key")

# How long a demo server may take to fill itself and answer /readyz (about 1-2 s; more on
# a loaded machine).
READY_SECONDS=${UCPLUS_E2E_READY_SECONDS:-30}

# Starts a fresh demo server logging to $1; sets server_pid and url, or fails with its log.
# The server binds port 0 itself and prints the address it got ("ucplus demo running at
# http://127.0.0.1:PORT ..."): no port is chosen here, so none can be taken meanwhile.
start_server() {
  local log=$1
  : >"$log"
  UCPLUS_LICENSE_PUBLIC_KEYS="$public_key" UCPLUS_DEMO_TRAFFIC=0 UCPLUS_ADMIN_PASSWORD=demo-admin \
    "$binary" demo --listen 127.0.0.1:0 >"$log" 2>&1 &
  server_pid=$!
  url=
  local deadline=$((SECONDS + READY_SECONDS))
  while true; do
    if [ -z "$url" ]; then
      url=$(sed -n 's|^ucplus demo running at \(http://[^ ]*\).*|\1|p' "$log" | head -n 1)
    fi
    if [ -n "$url" ] && curl -fsS "$url/readyz" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "web e2e: the demo server exited before it was ready; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "web e2e: the demo server was not ready within $READY_SECONDS s (url: ${url:-none printed}); its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

started=$(date +%s)
failed=()
for file in "${files[@]}"; do
  log="$work/server-$(basename "$file" .test.mjs).log"
  start_server "$log"
  echo "web e2e: $file on a fresh demo server at $url"
  status=0
  (
    cd "$here"
    UCPLUS_URL="$url" UCPLUS_BIN="$binary" UCPLUS_VENDOR_KEY="$work/vendor.key" \
      node --test --test-concurrency=1 --test-timeout=90000 --test-reporter=spec "$file"
  ) || status=$?
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "web e2e: the demo server stopped during $file" >&2
    status=1
  fi
  stop_server
  if [ "$status" -ne 0 ]; then
    failed+=("$file")
    echo "web e2e: $file failed; the server's log (last 40 lines):" >&2
    tail -n 40 "$log" >&2
  fi
done

echo "web e2e: finished ${#files[@]} test file(s) in $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "web e2e: FAILED: ${failed[*]}" >&2
  exit 1
fi
