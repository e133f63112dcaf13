'use strict';
// DOES NOT LEAK: caches that fill up during warm-up and then only overwrite existing keys.
// Every request writes key `k<seq % 100>` of a Map and of a plain-object dictionary (100 keys
// each, ~4 KB per value) and a slot of a fixed-size array; after the first 100 requests the
// number of entries never changes, only the values are replaced (the old ones become garbage).
const { serve, payload } = require('./common');

const KEYS = 100;
const configCache = new Map();
const configByName = {};
const recentSlots = new Array(KEYS).fill(null);

serve(function handle(req, res, seq) {
  const key = 'k' + (seq % KEYS);
  const value = { id: seq, url: req.url, updatedAt: Date.now(), data: payload(seq) };
  configCache.set(key, value);
  configByName[key] = { id: seq, data: payload(seq) };
  recentSlots[seq % KEYS] = { id: seq, url: req.url };
  res.end('ok ' + configCache.size + '\n');
});
