'use strict';
// LEAKS through axios (pinned in package.json), as reported again and again on its tracker:
// every request adds an interceptor to a long-lived client (`client.interceptors.request.use`)
// instead of adding it once, so the client's InterceptorManager keeps one handler per request.
//
//   per-call   an interceptor added per request (never ejected)
//   once       the interceptor added once at startup: no leak
const axios = require('axios');
const { serve, mode } = require('../common');

const which = mode(['per-call', 'once']);

const client = axios.create({ baseURL: 'http://127.0.0.1:9' });

function traceRequests(seq) {
  client.interceptors.request.use(function addTraceId(config) { // heapscan-expect: interceptor
    config.headers['x-trace-id'] = String(seq);
    return config;
  });
}

if (which === 'once') traceRequests(0);

serve(function handle(req, res, seq) {
  if (which === 'per-call') traceRequests(seq);
});
