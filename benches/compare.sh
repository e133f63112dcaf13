#!/usr/bin/env bash
# heapscan vs memlab vs Chrome DevTools' worker vs v8-heap-parser on one snapshot: wall time and
# peak RSS of each, with `wc -l FILE` as the floor (the time to read the file once).
#
#   benches/compare.sh [--runs N] [--no-peers] FILE
#
#   --runs N     runs of wc and heapscan (the median is shown; default 3); the peers run once
#   --no-peers   heapscan and wc only (no npm install, no Node runs)
#
# Env: HEAPSCAN_PEERS_DIR   where the peers are npm-installed (default ${TMPDIR:-/tmp}/heapscan-peers)
#      PEERS_HEAP_MB        --max-old-space-size for the Node peers (default 16384)
#      CARGO_TARGET_DIR     as for cargo; heapscan is built with `cargo build --release`
#
# The peers: memlab (`memlab analyze object-size --snapshot FILE`: parses the snapshot,
# computes dominators and retained sizes, lists the biggest objects), and DevTools' own heap
# snapshot worker from heap-snapshot-toolkit@1.1.3 driven by benches/devtools-parse.js (parse +
# dominators + retained sizes + distances, then the Summary view's aggregates; its own timer
# covers only that, the wall time includes Node's start), and Microsoft's v8-heap-parser crate
# (what VS Code's heap tools use) through benches/v8-heap-parser (parse, then class groups with
# retained sizes; built with cargo, run once like the other peers). heapscan: `heapscan summary
# FILE --no-index --format json -o /dev/null`, with HEAPSCAN_TIMINGS=1 so its phases are shown
# too (the first look, as a new file gets it); and the second look, the same command on the
# file once indexed (in a cache directory of its own, made by a first run that is not counted).
# Time and memory come from GNU time (`/usr/bin/time`, Debian package `time`).
# Prints a plain table, then the same as markdown for the README.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
runs=3
peers=1
file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --no-peers) peers=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done
[[ -n "$file" ]] || { echo "usage: benches/compare.sh [--runs N] [--no-peers] FILE" >&2; exit 2; }
[[ -f "$file" ]] || { echo "compare.sh: $file: no such file (make one with benches/make-big-snapshot.sh)" >&2; exit 2; }
file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
peers_dir="${HEAPSCAN_PEERS_DIR:-${TMPDIR:-/tmp}/heapscan-peers}"
heap_mb="${PEERS_HEAP_MB:-16384}"

say() { echo "compare.sh: $*" >&2; }

if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing GNU time (apt-get install time)"
    apt-get update -qq && apt-get install -y -qq time >/dev/null
  else
    say "needs GNU time at /usr/bin/time: sudo apt-get install time"; exit 2
  fi
fi

say "building heapscan (cargo build --release)"
(cd "$repo" && cargo build --release --quiet)
heapscan="${CARGO_TARGET_DIR:-$repo/target}/release/heapscan"
[[ "$heapscan" = /* ]] || heapscan="$repo/$heapscan"

if [[ $peers -eq 1 ]]; then
  say "building the v8-heap-parser bench (cargo build --release in benches/v8-heap-parser)"
  (cd "$here/v8-heap-parser" && cargo build --release --quiet)
  v8hp="$here/v8-heap-parser/target/release/v8-heap-parser-bench"
  command -v node >/dev/null || { say "node is not on PATH (or use --no-peers)"; exit 2; }
  if [[ ! -f "$peers_dir/node_modules/heap-snapshot-toolkit/package.json" \
     || ! -f "$peers_dir/node_modules/memlab/package.json" ]]; then
    say "installing memlab and heap-snapshot-toolkit@1.1.3 into $peers_dir"
    mkdir -p "$peers_dir"
    [[ -f "$peers_dir/package.json" ]] || echo '{"name":"heapscan-peers","private":true}' >"$peers_dir/package.json"
    # memlab pulls in puppeteer, whose install script downloads Chrome: not needed to analyse.
    (cd "$peers_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --silent --no-audit --no-fund \
      --ignore-scripts memlab heap-snapshot-toolkit@1.1.3 >/dev/null)
  fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# measure NAME CMD...: runs CMD under GNU time; appends "wall rss_kb user sys" to $tmp/NAME.
measure() {
  local name="$1"; shift
  if ! /usr/bin/time -f '%e %M %U %S' -o "$tmp/$name.one" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    say "$name failed:"; tail -5 "$tmp/$name.err" >&2
    echo "fail" >>"$tmp/$name"
    return 0
  fi
  tail -1 "$tmp/$name.one" >>"$tmp/$name"
}

size=$(stat -c %s "$file")
counts=$(head -c 8192 "$file" | grep -o '"node_count":[0-9]*,"edge_count":[0-9]*' | tr -dc '0-9,' || true)
say "$(basename "$file"): $((size / 1000000)) MB, ${counts%%,*} nodes, ${counts##*,} edges"
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v n="$(nproc)" '{exit !($1 > n / 2)}' /proc/loadavg; then
  say "warning: the machine is busy (load average above half the cores); times will be inflated"
fi

cat "$file" >/dev/null # every tool starts from a warm page cache
for _ in $(seq "$runs"); do measure wc wc -l "$file"; done
for i in $(seq "$runs"); do
  measure heapscan env HEAPSCAN_TIMINGS=1 "$heapscan" summary "$file" --no-index --format json -o /dev/null
  if [[ $i -eq 1 ]]; then cp "$tmp/heapscan.err" "$tmp/heapscan.phases"; fi
done
HEAPSCAN_INDEX_DIR="$tmp/index" "$heapscan" summary "$file" --format json -o /dev/null
for _ in $(seq "$runs"); do
  measure indexed env HEAPSCAN_INDEX_DIR="$tmp/index" "$heapscan" summary "$file" --format json -o /dev/null
done
if [[ $peers -eq 1 ]]; then
  say "running memlab analyze object-size (slow)"
  measure memlab env NODE_OPTIONS="--max-old-space-size=$heap_mb" \
    node "$peers_dir/node_modules/memlab/bin/memlab" analyze object-size --snapshot "$file"
  say "running DevTools' worker (slow)"
  measure devtools node --max-old-space-size="$heap_mb" "$here/devtools-parse.js" "$peers_dir" "$file"
  say "running v8-heap-parser (slow)"
  measure v8heapparser "$v8hp" "$file"
fi

# row NAME: the median run's "wall rss user sys" (or "fail").
row() {
  [[ -s "$tmp/$1" ]] || { echo "-"; return; }
  grep -v fail "$tmp/$1" | sort -n | awk '{a[NR]=$0} END {if (NR) print a[int((NR+1)/2)]; else print "fail"}'
}
hs_wall=$(row heapscan | cut -d' ' -f1)

echo
echo "heapscan phases (first run, HEAPSCAN_TIMINGS=1):"
grep '^timing:' "$tmp/heapscan.phases" | sed 's/^timing: /  /' || true
if [[ -s "$tmp/devtools.out" ]]; then echo; echo "DevTools' worker, own timer: $(cat "$tmp/devtools.out")"; fi
if [[ -s "$tmp/v8heapparser.err" ]]; then echo "v8-heap-parser, own timer: $(tail -1 "$tmp/v8heapparser.err")"; fi
echo

labels=(wc heapscan indexed memlab devtools v8heapparser)
declare -A what=(
  [wc]="wc -l (reading the file once)"
  [heapscan]="heapscan summary --no-index --format json"
  [indexed]="heapscan summary, the file indexed"
  [memlab]="memlab analyze object-size"
  [devtools]="DevTools worker (heap-snapshot-toolkit 1.1.3)"
  [v8heapparser]="v8-heap-parser 1.1.0 (parse + class groups)"
)
lines=()
for name in "${labels[@]}"; do
  r=$(row "$name")
  if [[ "$r" == "-" ]]; then continue; fi
  if [[ "$r" == "fail" ]]; then
    lines+=("${what[$name]}|failed|-|-|-")
    continue
  fi
  read -r wall rss user sys <<<"$r"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
  rel=$(awk -v w="$wall" -v h="$hs_wall" 'BEGIN {if (h <= 0) print "-"; else if (w < h) printf "%.2fx", w / h; else printf "%.1fx", w / h}')
  lines+=("${what[$name]}|$(printf '%.2f' "$wall")|$((rss / 1024))|$cpu|$rel")
done

printf '%-48s %10s %14s %10s %12s\n' "tool" "wall (s)" "peak RSS (MB)" "CPU (s)" "vs heapscan"
for l in "${lines[@]}"; do
  IFS='|' read -r a b c d e <<<"$l"
  printf '%-48s %10s %14s %10s %12s\n' "$a" "$b" "$c" "$d" "$e"
done

echo
echo "Markdown:"
echo
echo "Snapshot: $((size / 1000000)) MB, ${counts%%,*} nodes, ${counts##*,} edges; $(nproc) cores; medians of $runs runs for wc and heapscan (both looks), one run of each peer."
echo
echo "| tool | wall (s) | peak RSS (MB) | CPU (s) | wall vs heapscan |"
echo "|---|---:|---:|---:|---:|"
for l in "${lines[@]}"; do
  IFS='|' read -r a b c d e <<<"$l"
  echo "| $a | $b | $c | $d | $e |"
done
