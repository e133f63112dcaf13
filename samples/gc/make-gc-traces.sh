#!/usr/bin/env bash
# Regenerate the real GC traces in samples/gc/ that `heapscan gc`'s tests parse.
#
#   samples/gc/make-gc-traces.sh          # all of them
#
# nodeN.trace-gc.log   node N --trace-gc gc-app.js leak 1000       (N = 16 18 20 22 24)
# nodeN.trace-gc-nvp.log  the same with --trace-gc-nvp               (N = 16 20 24)
# node22.oom.log       stdout then stderr of oom-app.js: the "Last few GCs" dump runs lines together
# Node binaries come from samples/node-version.sh (npm registry, cached outside the repo).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nv="$here/../node-version.sh"
cd "$(mktemp -d)"
for v in 16 18 20 22 24; do
  bin="$("$nv" "$v")"
  "$bin" --trace-gc "$here/gc-app.js" leak 1000 > "$here/node$v.trace-gc.log"
done
for v in 16 20 24; do
  bin="$("$nv" "$v")"
  "$bin" --trace-gc-nvp "$here/gc-app.js" leak 300 > "$here/node$v.trace-gc-nvp.log"
done
bin="$("$nv" 22)"
{ "$bin" --trace-gc --max-old-space-size=16 "$here/oom-app.js" 2>&1 || true; } > "$here/node22.oom.log"
wc -lc "$here"/*.log
