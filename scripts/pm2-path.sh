#!/usr/bin/env bash
# Print the path of a `pm2` executable for the collector's tests, installing PM2 from the npm
# registry on first use into ${HEAPSCAN_PM2_CACHE:-$HOME/.cache/heapscan/pm2} (never the repo).
#
#   scripts/pm2-path.sh        -> /root/.cache/heapscan/pm2/node_modules/.bin/pm2
#
# stdout is exactly the path; chatter goes to stderr.
set -euo pipefail
cache="${HEAPSCAN_PM2_CACHE:-$HOME/.cache/heapscan/pm2}"
bin="$cache/node_modules/.bin/pm2"
if [[ ! -x "$bin" ]]; then
  command -v npm >/dev/null 2>&1 || { echo "pm2-path.sh: npm is needed to install pm2" >&2; exit 2; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$(dirname "$cache")/.pm2-tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "pm2-path.sh: installing pm2@5 from the npm registry..." >&2
  (cd "$tmp" && npm install --no-audit --no-fund --silent pm2@5 >&2)
  rm -rf "$cache"
  mv "$tmp" "$cache"
  trap - EXIT
fi
echo "$bin"
