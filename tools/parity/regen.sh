#!/usr/bin/env bash
# Regenerate every golden file tests/golden/<name>.json.gz from samples/<name>.heapsnapshot.gz
# (and tests/golden/synthetic/<name>.json.gz from samples/synthetic/, which synthetic.js
# rewrites first) with DevTools' own heap snapshot worker (heap-snapshot-toolkit, version
# pinned in package-lock.json).
#
#   tools/parity/regen.sh                  # all samples
#   tools/parity/regen.sh samples/node20.heapsnapshot.gz ...   # only these
#
# Needs node >= 18 and npm (npm registry). node_modules/ stays in tools/parity/ (git-ignored).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# The oracle needs Node >= 18; fall back to the cached Node 20 if PATH has an older one.
node_bin="$(command -v node || true)"
if [[ -z "$node_bin" ]] || [[ "$("$node_bin" -p 'process.versions.node.split(".")[0]')" -lt 18 ]]; then
  node_bin="$("$repo/samples/node-version.sh" 20)"
fi

# Install exactly what package-lock.json says (fast no-op when already installed at that version).
if [[ ! -f "$here/node_modules/heap-snapshot-toolkit/package.json" ]] ||
   [[ "$("$node_bin" -p "require('$here/node_modules/heap-snapshot-toolkit/package.json').version")" != \
      "$("$node_bin" -p "require('$here/package-lock.json').packages['node_modules/heap-snapshot-toolkit'].version")" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ $# -gt 0 ]]; then
  inputs=("$@")
else
  # The hand-made corner cases are generated (deterministically) from synthetic.js.
  "$node_bin" "$here/synthetic.js" >/dev/null
  shopt -s nullglob
  inputs=("$repo"/samples/*.heapsnapshot.gz "$repo"/samples/synthetic/*.heapsnapshot.gz)
fi
[[ ${#inputs[@]} -gt 0 ]] || { echo "regen.sh: no samples/*.heapsnapshot.gz (run samples/make-samples.sh)" >&2; exit 1; }

start_ns=$(date +%s%N)
for f in "${inputs[@]}"; do
  "$node_bin" "$here/golden.js" "$f"
done
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
printf 'regen.sh: %d golden file(s) in %d.%03d s\n' "${#inputs[@]}" $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
