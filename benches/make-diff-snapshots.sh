#!/usr/bin/env bash
# Generates the `heapscan diff` benchmark input: three ~700 MB snapshots of ONE Node.js process
# (benches/diff-heap.js), growing by a leaking Map between them, so that their object ids carry
# over (same_process: true).
#
#   benches/make-diff-snapshots.sh [--force] [DIR]      (DIR: bench-data/)
#
# Writes DIR/diff-1.heapsnapshot, diff-2, diff-3 with the `node` on PATH. Env:
# HEAPSCAN_BENCH_OBJECTS (records, default 1,870,000: 735 / 760 / 787 MB on Node 20) and
# HEAPSCAN_BENCH_GROWTH (records added before each snapshot, default 60,000). Skips the work
# when all three exist, unless --force. Needs ~2.3 GB of disk and ~5 GB of RAM; takes 5–30
# minutes (V8 writes each snapshot slowly). bench-data/ is git-ignored: never commit it. Then:
#
#   /usr/bin/time -v target/release/heapscan diff DIR/diff-{1,2,3}.heapsnapshot > /dev/null
#   /usr/bin/time -v target/release/heapscan summary DIR/diff-1.heapsnapshot > /dev/null
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
force=0
dir=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "make-diff-snapshots.sh: unknown option $arg" >&2; exit 2 ;;
    *) dir="$arg" ;;
  esac
done
dir="${dir:-$repo/bench-data}"
command -v node >/dev/null || { echo "make-diff-snapshots.sh: node is not on PATH" >&2; exit 2; }

if [[ $force -eq 0 && -s "$dir/diff-1.heapsnapshot" && -s "$dir/diff-2.heapsnapshot" && -s "$dir/diff-3.heapsnapshot" ]]; then
  echo "make-diff-snapshots.sh: $dir/diff-{1,2,3}.heapsnapshot exist (use --force to regenerate)" >&2
  ls -l "$dir"/diff-[123].heapsnapshot
  exit 0
fi

mkdir -p "$dir"
avail_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if (( avail_kb < 3000000 )); then
  echo "make-diff-snapshots.sh: less than 3 GB free in $dir" >&2
  exit 1
fi
rm -f "$dir"/diff-[123].heapsnapshot "$dir"/diff-[123].heapsnapshot.partial
trap 'rm -f "$dir"/diff-[123].heapsnapshot.partial' EXIT
echo "make-diff-snapshots.sh: $(node --version), writing $dir/diff-{1,2,3}.heapsnapshot" >&2
node --max-old-space-size=8192 "$here/diff-heap.js" "$dir/diff"
ls -l "$dir"/diff-[123].heapsnapshot
