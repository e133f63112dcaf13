'use strict';
// DOES NOT LEAK: every request starts an interval (cleared when the response is finished), a
// short setTimeout that fires and ends, and a setImmediate; all close over a per-request job.
const { serve, payload } = require('./common');

let fired = 0;

serve(function handle(req, res, seq) {
  const job = { id: seq, url: req.url, ticks: 0, samples: payload(seq) };
  const interval = setInterval(function pollJob() {
    job.ticks += 1;
  }, 60000);
  setTimeout(function expire() {
    job.expired = true;
    fired += 1;
  }, 5);
  setImmediate(function settle() {
    job.settled = true;
  });
  res.on('finish', function cleanUp() {
    clearInterval(interval);
  });
  res.end('ok ' + fired + '\n');
});
