#!/usr/bin/env bash
# Generates the scale benchmark snapshot, written directly rather than by V8 (which would
# need a heap of several GB and its own memory to write it): COPIES copies of the big
# benchmark snapshot (benches/make-big-snapshot.sh, a real one that Node writes) side by side
# in one file (benches/replicate_snapshot.rs says how). The default, 6 copies, is ~4.2 GB:
# 50 M nodes, 164 M edges.
#
#   benches/make-huge-snapshot.sh [--force] [--copies N] [--compressed] [OUT]
#                                             (OUT: bench-data/huge.heapsnapshot)
#
# --compressed also writes OUT.gz (gzip -1) and OUT.zst (zstd -3, all cores). The base is
# HEAPSCAN_BENCH_BASE or bench-data/big.heapsnapshot, made first when missing (a minute or two,
# ~4 GB of RAM). The file is written beside OUT and renamed when complete. bench-data/ is
# git-ignored: never commit it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
force=0
copies=6
compressed=0
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --force) force=1 ;;
    --copies) copies="${2:?--copies needs a number}"; shift ;;
    --compressed) compressed=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "make-huge-snapshot.sh: unknown option $1" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
out="${out:-$repo/bench-data/huge.heapsnapshot}"
base="${HEAPSCAN_BENCH_BASE:-$repo/bench-data/big.heapsnapshot}"

if [[ -s "$out" && $force -eq 0 ]]; then
  echo "make-huge-snapshot.sh: $out exists (use --force to regenerate)" >&2
else
  [[ -s "$base" ]] || bash "$here/make-big-snapshot.sh" "$base"
  mkdir -p "$(dirname "$out")"
  tmp="$out.partial.$$"
  trap 'rm -f "$tmp"' EXIT
  (cd "$repo" && cargo build --quiet --release --example replicate-snapshot)
  "$repo/target/release/examples/replicate-snapshot" "$base" "$copies" "$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
fi
ls -l "$out"

if [[ $compressed -eq 1 ]]; then
  for kind in gz zst; do
    [[ -s "$out.$kind" && $force -eq 0 ]] && continue
    case "$kind" in
      gz) gzip -1 -c "$out" > "$out.gz.partial" ;;
      zst) zstd -q -3 -T0 -c "$out" > "$out.zst.partial" ;;
    esac
    mv -f "$out.$kind.partial" "$out.$kind"
  done
  ls -l "$out.gz" "$out.zst"
fi
