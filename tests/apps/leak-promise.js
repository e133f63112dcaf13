'use strict';
// LEAKS (mode `pending`) or not (mode `settled`): every request runs an async function that
// awaits `databaseReady`, a promise that is resolved when the database connects — which, in
// `pending` mode, never happens. Each await adds a reaction to that one promise, and each
// reaction keeps the suspended call (its request's ~4 KB of state) alive, forever.
const { serve, mode, payload } = require('./common');

const which = mode(['pending', 'settled']);

let connected;
const databaseReady = new Promise((resolve) => {
  connected = resolve;
});
if (which === 'settled') connected();

async function lookUpUser(req, seq) { // heapscan-expect: awaiting function
  const state = { url: req.url, seq, rows: payload(seq) };
  await databaseReady;
  return state.rows.length;
}

serve(function handle(req, res, seq) {
  lookUpUser(req, seq);
});
