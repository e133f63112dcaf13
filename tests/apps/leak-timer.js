'use strict';
// LEAKS: every request starts a setInterval that is never cleared. Its callback closes over a
// per-request job (~4 KB), so each request leaks a Timeout, the closure, its context and payload.
// The interval is long (60 s) so the callbacks stay idle while a test runs.
const { serve, payload } = require('./common');

function startPolling(req, seq) {
  const job = { id: seq, url: req.url, ticks: 0, samples: payload(seq) };
  setInterval(function pollJob() { // heapscan-expect: timer
    job.ticks += 1;
  }, 60000);
}

serve(function handle(req, res, seq) {
  startPolling(req, seq);
});
