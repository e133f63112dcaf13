'use strict';
// Shared scaffolding for the test apps in this directory (plain JS, no dependencies, Node 16+).
//
// serve(handler) starts an HTTP server on 127.0.0.1 with an OS-chosen port and prints
// `LISTENING <port>` on stdout once it accepts connections. Every request calls
// handler(req, res, seq) with seq = 1, 2, 3, ...; if the handler does not end the response,
// serve() ends it with `ok`. The harness (tests/support/mod.rs) drives the server with a loop of
// requests and takes heap snapshots with SIGUSR2 (`--heapsnapshot-signal`).
//
// Lines marked `// heapscan-expect: <kind>` in the apps are where `heapscan diff` should point
// (the listener/callback/closure function or the constructor); tests find them with
// support::marker_line(). V8's `locations` put a function at the `(` of its parameter list and
// an instance of a class at its constructor's `(`, so the marker sits on that line.

const http = require('http');

function serve(handler) {
  let seq = 0;
  const server = http.createServer(function onRequest(req, res) {
    seq += 1;
    try {
      handler(req, res, seq);
    } catch (err) {
      process.stderr.write('handler failed: ' + (err && err.stack) + '\n');
      res.statusCode = 500;
    }
    if (!res.writableEnded) res.end('ok\n');
  });
  server.on('error', function onServerError(err) {
    process.stderr.write('server error: ' + (err && err.stack) + '\n');
    process.exit(1);
  });
  server.listen(0, '127.0.0.1', function onListening() {
    process.stdout.write('LISTENING ' + server.address().port + '\n');
  });
  return server;
}

// The mode an app was started with (its first argument), checked against the allowed ones.
function mode(allowed) {
  const m = process.argv[2] || allowed[0];
  if (allowed.indexOf(m) < 0) {
    process.stderr.write('unknown mode ' + JSON.stringify(m) + '; expected one of ' + allowed.join(', ') + '\n');
    process.exit(2);
  }
  return m;
}

// About 4 KB of JS heap per call: an array of 500 small integers (a 4 KB FixedArray).
function payload(seq) {
  return new Array(500).fill(seq);
}

module.exports = { serve, mode, payload };
