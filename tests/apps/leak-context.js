'use strict';
// LEAKS (mode `shared-store`) or not (mode `per-request`): request handling runs inside an
// AsyncLocalStorage context. In `shared-store` mode the server is started inside
// `requestContext.run(store, …)` with one store object, so every request sees that same store,
// and the handler's per-request audit trail, meant to live for one request, accumulates in it.
// In `per-request` mode each request runs in `requestContext.run(new store, …)`.
const { AsyncLocalStorage } = require('async_hooks');
const { serve, mode, payload } = require('./common');

const which = mode(['shared-store', 'per-request']);

const requestContext = new AsyncLocalStorage();

function trail() {
  return requestContext.getStore().trail;
}

function handle(req, res, seq) { // heapscan-expect: context entry
  trail().push({ seq, url: req.url, rows: payload(seq) });
}

if (which === 'shared-store') {
  requestContext.run({ trail: [] }, () => serve(handle));
} else {
  serve((req, res, seq) => requestContext.run({ trail: [] }, () => handle(req, res, seq)));
}
