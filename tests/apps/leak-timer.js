'use strict';
// LEAKS: every request starts a setInterval that is never cleared. Its callback closes over a
// per-request job (~4 KB), so each request leaks a Timeout, the closure, its context and payload.
// The interval is long (60 s) so the callbacks stay idle while a test runs.
//
//   node leak-timer.js [closure]  the callback is a function expression (pollJob)
//   node leak-timer.js bound      the callback is a method bound to a per-request Poller
//                                 (`this.poll.bind(this)`): V8 names the timer's callback
//                                 `native_bind`, and its target is Poller#poll
//   node leak-timer.js owner      each request opens a `Subscription` that polls with a timer
//                                 it keeps (`this.timer`) and clears in `close()`, which is
//                                 never called
//   node leak-timer.js owner-closed  the same, closed when the response ends: no leak
const { serve, mode, payload } = require('./common');

const which = mode(['closure', 'bound', 'owner', 'owner-closed']);

function startPolling(req, seq) {
  const job = { id: seq, url: req.url, ticks: 0, samples: payload(seq) };
  setInterval(function pollJob() { // heapscan-expect: timer
    job.ticks += 1;
  }, 60000);
}

class Poller {
  constructor(req, seq) {
    this.job = { id: seq, url: req.url, ticks: 0, samples: payload(seq) };
  }

  poll() { // heapscan-expect: bound timer
    this.job.ticks += 1;
  }

  start() {
    setInterval(this.poll.bind(this), 60000);
  }
}

class Subscription {
  constructor(req, seq) { // heapscan-expect: owner timer
    this.job = { id: seq, url: req.url, ticks: 0, samples: payload(seq) };
    this.timer = setInterval(() => this.refresh(), 60000);
  }

  refresh() {
    this.job.ticks += 1;
  }

  close() {
    clearInterval(this.timer);
  }
}

serve(function handle(req, res, seq) {
  if (which === 'owner' || which === 'owner-closed') {
    const subscription = new Subscription(req, seq);
    if (which === 'owner-closed') res.on('finish', () => subscription.close());
  } else if (which === 'bound') {
    new Poller(req, seq).start();
  } else {
    startPolling(req, seq);
  }
});
