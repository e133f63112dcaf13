'use strict';
// LEAKS through lodash's `memoize` (pinned in package.json): the memoised function is called
// with a fresh options object per request, and memoize keys its cache by the first argument —
// by identity for objects — so every call adds an entry that is never hit again.
//
//   fresh-keys   memoize(price) called with a new `{ sku, currency }` object per request
//   by-value     the same with a resolver that keys by value (`sku + ':' + currency`): no leak
const _ = require('lodash');
const { serve, mode, payload } = require('../common');

const which = mode(['fresh-keys', 'by-value']);

function price(query) { // heapscan-expect: memoized entry
  return { sku: query.sku, amount: query.sku.length * 100, table: payload(query.sku.length) };
}

const cachedPrice = which === 'fresh-keys'
  ? _.memoize(price)
  : _.memoize(price, (query) => query.sku + ':' + query.currency);

serve(function handle(req, res, seq) {
  cachedPrice({ sku: 'sku-' + (seq % 50), currency: 'EUR' });
});
