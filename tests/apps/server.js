'use strict';
// A small HTTP app for the collector's tests.
//
//   node server.js leak|steady
//
// Listens on 127.0.0.1 (port 0 = any free port) and prints `listening PORT`. `leak` keeps
// ~20 KB per request forever; `steady` keeps nothing. Everything it writes to stdout is also
// appended to $ECHO_FILE (when set), so a test can compare what reached heapscan's stdout
// with what the app wrote, byte for byte. Environment:
//   EXIT_CODE       exit code after SIGINT/SIGTERM (default 0)
//   CRASH_ONCE      a path: when it does not exist, create it and crash with exit code 3
//                   after 300 ms (so the first run crashes and a restart runs normally)
//   MAX_LIFETIME_MS exit 0 by itself after this long (default 60000): never outlive a test
//   BALLAST         create this many small objects at start, so a heap snapshot takes a while
//                   to write (a test that kills the app mid-write needs that time)
const http = require('http');
const fs = require('fs');

const mode = process.argv[2] || 'steady';
const echo = process.env.ECHO_FILE;
function out(text) {
  process.stdout.write(text);
  if (echo) fs.appendFileSync(echo, text);
}

if (process.env.CRASH_ONCE && !fs.existsSync(process.env.CRASH_ONCE)) {
  fs.writeFileSync(process.env.CRASH_ONCE, 'crashed\n');
  setTimeout(() => { out('crashing on purpose\n'); process.exit(3); }, 300);
}

globalThis.ballast = Array.from({ length: Number(process.env.BALLAST || 0) },
  (_, i) => ({ i, s: 'b' + i }));

const kept = [];
let served = 0;
const server = http.createServer((req, res) => {
  served++;
  const payload = { id: served, url: req.url, body: 'x'.repeat(20000) + served };
  if (mode === 'leak') kept.push(payload);
  // Output without a newline, then the rest: the GC lines must never be glued into it.
  if (served % 50 === 0) out(`served ${served} (kept ${kept.length}) `);
  if (served % 50 === 0) out('ü✓\n');
  res.end(JSON.stringify({ served, kept: kept.length }));
});

server.listen(0, '127.0.0.1', () => {
  out(`listening ${server.address().port}\n`);
});

function stop(sig) {
  out(`got ${sig}, bye\n`);
  server.close();
  process.exit(Number(process.env.EXIT_CODE || 0));
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
setTimeout(() => { out('lifetime over\n'); process.exit(0); },
  Number(process.env.MAX_LIFETIME_MS || 60000)).unref();
