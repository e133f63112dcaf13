'use strict';
// LEAKS (mode `never-pruned`) or not (mode `bounded`): a cache of parsed responses that holds
// them through WeakRefs, keyed by the request's URL, so that the responses can be collected.
// They are, but in `never-pruned` mode nothing removes an entry whose WeakRef is empty: every
// URL ever seen keeps its key and its WeakRef. In `bounded` mode the cache keeps the last 100.
const { serve, mode, payload } = require('./common');

const which = mode(['never-pruned', 'bounded']);

const responseRefs = new Map();

function remember(req, seq) {
  const url = '/search?q=' + seq + '&' + 'filter=active&'.repeat(20);
  const parsed = { url, rows: payload(seq) };
  responseRefs.set(url, new WeakRef(parsed));
  if (which === 'bounded' && responseRefs.size > 100) {
    responseRefs.delete(responseRefs.keys().next().value);
  }
}

serve(function handle(req, res, seq) {
  remember(req, seq);
});
