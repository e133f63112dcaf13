'use strict';
// LEAKS through prom-client (pinned in package.json), in the two ways its issue tracker keeps
// hearing about, or not (the `-bounded` / `-once` twins):
//
//   labels           a Counter labelled with the raw request path (`/users/<seq>`): one
//                    label set per request, each kept in the Counter's `hashMap` forever
//   labels-bounded   the same Counter labelled with the route (`/users/:id`): no leak
//   per-call         a new Counter per request, each registered in prom-client's default
//                    registry (`_metrics`), which keeps them all
//   per-call-once    the Counter made once at startup: no leak
const client = require('prom-client');
const { serve, mode } = require('../common');

const which = mode(['labels', 'labels-bounded', 'per-call', 'per-call-once']);

const requests = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests by path',
  labelNames: ['path'],
});

function countRequest(seq) {
  const path = which === 'labels' ? '/users/' + seq : '/users/:id';
  requests.inc({ path });
}

let sharedJobCounter = null;

function jobCounter(seq) { // heapscan-expect: per-call counter
  if (which === 'per-call-once') {
    sharedJobCounter = sharedJobCounter || new client.Counter({ name: 'jobs_total', help: 'jobs' });
    return sharedJobCounter;
  }
  return new client.Counter({ name: 'job_' + seq + '_total', help: 'jobs of request ' + seq });
}

serve(function handle(req, res, seq) {
  if (which.startsWith('labels')) countRequest(seq);
  else jobCounter(seq).inc();
});
