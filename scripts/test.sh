#!/usr/bin/env bash
# The whole test suite, as the README gives it. First it installs what the tests need beside
# Rust, so that the tests themselves only test: Node.js 16, 18, 20, 22 and 24 (from the npm
# registry through samples/node-version.sh, cached outside the repo) and Chromium for the
# HTML report's browser test (Debian's package; set HEAPSCAN_CHROMIUM to use another binary);
# and the npm packages the apps in tests/apps/packages leak through (pinned in its
# package-lock.json, installed with `npm ci` from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

for major in 16 18 20 22 24; do
  bash samples/node-version.sh "$major" >/dev/null
done

have_chromium() {
  [[ -n "${HEAPSCAN_CHROMIUM:-}" ]] || command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1
}
if ! have_chromium; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "scripts/test.sh: the browser test needs Chromium: install the Debian package chromium (apt-get install -y chromium) or set HEAPSCAN_CHROMIUM" >&2
    exit 2
  fi
  echo "scripts/test.sh: installing Chromium (apt-get install chromium)..." >&2
  install_chromium() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium </dev/null >/dev/null
  }
  install_chromium || { apt-get update </dev/null >/dev/null && install_chromium; }
fi

packages=tests/apps/packages
if [[ ! -f "$packages/node_modules/.package-lock.json" ||
  "$packages/package-lock.json" -nt "$packages/node_modules/.package-lock.json" ]]; then
  echo "scripts/test.sh: installing the test apps' npm packages (npm ci)..." >&2
  (cd "$packages" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The tests run heapscan with its persisted index on, as users do, in a cache of their own
# that starts empty (so a run reads some snapshots fresh and some from their index, and the
# outputs must not differ), never in the user's own cache.
export HEAPSCAN_INDEX_DIR="${HEAPSCAN_INDEX_DIR:-$PWD/target/test-index}"
rm -rf "$HEAPSCAN_INDEX_DIR"

HEAPSCAN_NODE_NO_FETCH=1 cargo test --profile ci "$@"
