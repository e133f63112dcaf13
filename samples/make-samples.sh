#!/usr/bin/env bash
# Regenerate the sample snapshots in samples/ from samples/app.js.
#
#   samples/make-samples.sh            # make whichever samples are missing
#   samples/make-samples.sh --force    # remake all of them
#   samples/make-samples.sh 20 24      # only these Node majors (plus --force to remake)
#
# Node binaries come from samples/node-version.sh (npm registry, cached outside the repo).
# Output: samples/nodeN.heapsnapshot.gz for N in 16 18 20 22 24, and
# samples/node20-traced.heapsnapshot.gz (Node 20 run with --track-heap-objects).
# Snapshots are not byte-reproducible (addresses, ids, timings differ per run), so an existing
# sample is kept unless --force: remaking one means regenerating its golden too
# (tools/parity/regen.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
versions=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) versions+=("$arg") ;;
  esac
done
[[ ${#versions[@]} -gt 0 ]] || versions=(16 18 20 22 24 20-traced)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for v in "${versions[@]}"; do
  major="${v%%-*}"
  flags=()
  case "$v" in
    *-traced) flags=(--track-heap-objects) ;;
    *[!0-9]*) echo "make-samples.sh: unknown sample '$v' (want a Node major like 20, or 20-traced)" >&2; exit 2 ;;
  esac
  dest="$here/node$v.heapsnapshot.gz"
  if [[ -s "$dest" && $force -eq 0 ]]; then
    echo "keep   $(basename "$dest") (use --force to remake)"
    continue
  fi
  node_bin="$("$here/node-version.sh" "$major")"
  raw="$tmp/node$v.heapsnapshot"
  # Run from the temp dir so nothing (not even a stray Heap.*.heapsnapshot) lands in the repo.
  (cd "$tmp" && "$node_bin" "${flags[@]}" "$here/app.js" "$raw" >/dev/null)
  # A complete snapshot ends with `]}`; refuse to ship a truncated one.
  [[ "$(tail -c 2 "$raw")" == "]}" ]] || { echo "make-samples.sh: $raw looks truncated" >&2; exit 1; }
  gzip -9 -n -c "$raw" > "$dest.tmp"   # -n: no name/mtime in the header, so gzip output is stable
  mv "$dest.tmp" "$dest"
  printf 'made   %s  (node %s%s, %s bytes raw, %s gz)\n' "$(basename "$dest")" "$("$node_bin" --version)" \
    "${flags[*]:+ ${flags[*]}}" "$(stat -c %s "$raw")" "$(stat -c %s "$dest")"
done
