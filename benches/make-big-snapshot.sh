#!/usr/bin/env bash
# Generates the large benchmark snapshot: a random object graph written by the `node` on PATH
# (benches/big-heap.js), ~700 MB, ~8.4 M nodes, ~27.5 M edges with the default size.
#
#   benches/make-big-snapshot.sh [--force] [OUT]        (OUT: bench-data/big.heapsnapshot)
#
# Env: HEAPSCAN_BENCH_OBJECTS=N changes the number of records (default 1,870,000; the
# snapshot grows linearly, ~363 bytes per record). Skips the work when OUT exists, unless
# --force. The file is written beside OUT and renamed when complete, so an interrupted run
# never leaves a truncated snapshot behind. bench-data/ is git-ignored: never commit it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
force=0
out=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "make-big-snapshot.sh: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done
out="${out:-$repo/bench-data/big.heapsnapshot}"

command -v node >/dev/null || { echo "make-big-snapshot.sh: node is not on PATH" >&2; exit 2; }

describe() {
  local size counts
  size=$(stat -c %s "$1")
  # The header is the first few hundred bytes: {"snapshot":{"meta":{...},"node_count":N,"edge_count":M,...
  counts=$(head -c 8192 "$1" | grep -o '"node_count":[0-9]*,"edge_count":[0-9]*' | tr -dc '0-9,' )
  printf '%s: %s bytes (%d MB), %s nodes, %s edges\n' "$1" "$size" $((size / 1000000)) \
    "${counts%%,*}" "${counts##*,}"
}

if [[ -s "$out" && $force -eq 0 ]]; then
  echo "make-big-snapshot.sh: $out exists (use --force to regenerate)" >&2
  describe "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$out.partial.$$"
trap 'rm -f "$tmp"' EXIT
echo "make-big-snapshot.sh: $(node --version), writing $out (takes a minute or two, ~4 GB of RAM)" >&2
# The heap itself is ~700 MB; writing the snapshot needs memory outside the V8 heap as well.
node --max-old-space-size=8192 "$here/big-heap.js" "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
describe "$out"
