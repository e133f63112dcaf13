#!/usr/bin/env bash
# Make the bundled leak series: three snapshots of one Node.js process that leaks a 'data'
# listener per request (tests/apps/leak-listener.js), 200 requests apart, for the README's
# first command (`heapscan diff samples/leak-1.heapsnapshot.gz …`).
#
#   samples/make-leak-series.sh            # make the series if it is missing
#   samples/make-leak-series.sh --force    # remake it
#
# Node 20 comes from samples/node-version.sh. The app writes the snapshots itself on SIGUSR2
# (--heapsnapshot-signal), so the ids carry over from one to the next; the files are gzipped
# (-n: no name or time in the header).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
force=0
[[ "${1:-}" == "--force" || "${1:-}" == "-f" ]] && force=1
if [[ -s "$here/leak-3.heapsnapshot.gz" && $force -eq 0 ]]; then
  echo "keep   leak-{1,2,3}.heapsnapshot.gz (use --force to remake)"
  exit 0
fi
node_bin="$("$here/node-version.sh" 20)"
tmp="$(mktemp -d)"
app_pid=""
cleanup() { [[ -n "$app_pid" ]] && kill "$app_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

(cd "$tmp" && exec "$node_bin" --heapsnapshot-signal=SIGUSR2 "$repo/tests/apps/leak-listener.js" > "$tmp/app.out" 2>/dev/null) &
app_pid=$!
for _ in $(seq 100); do grep -q LISTENING "$tmp/app.out" 2>/dev/null && break; sleep 0.1; done
port="$(awk '/LISTENING/ {print $2}' "$tmp/app.out")"
[[ -n "$port" ]] || { echo "make-leak-series.sh: the app did not start" >&2; exit 1; }

requests() {
  "$node_bin" -e '
    const http = require("http");
    let left = +process.argv[2], running = 0;
    const next = () => {
      if (left-- <= 0) { if (--running === 0) process.exit(0); return; }
      http.get("http://127.0.0.1:" + process.argv[1] + "/", (r) => { r.resume(); r.on("end", next); })
        .on("error", (e) => { console.error(e.message); process.exit(1); });
    };
    for (let i = 0; i < 8; i++) { running++; next(); }
  ' "$port" "$1"
}

requests 300   # warm-up: what a server builds on its first requests is not a leak
for k in 1 2 3; do
  requests 200
  kill -USR2 "$app_pid"
  for _ in $(seq 300); do
    file="$(ls "$tmp"/*.heapsnapshot 2>/dev/null | sort | sed -n "${k}p")"
    [[ -n "$file" && "$(tail -c 2 "$file" 2>/dev/null)" == "]}" ]] && break
    sleep 0.1
  done
  [[ -n "$file" && "$(tail -c 2 "$file")" == "]}" ]] || { echo "make-leak-series.sh: snapshot $k was not written" >&2; exit 1; }
  gzip -9 -n -c "$file" > "$here/leak-$k.heapsnapshot.gz.tmp"
  mv "$here/leak-$k.heapsnapshot.gz.tmp" "$here/leak-$k.heapsnapshot.gz"
  echo "made   leak-$k.heapsnapshot.gz ($(stat -c %s "$here/leak-$k.heapsnapshot.gz") bytes gz)"
done
