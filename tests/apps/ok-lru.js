'use strict';
// DOES NOT LEAK: a bounded LRU cache (a Map of at most 200 entries, ~4 KB each). Every request
// inserts a new key and reads a recent one; the least recently used entry is evicted.
const { serve, payload } = require('./common');

const MAX_ENTRIES = 200;
const lruCache = new Map();

function lruGet(key) {
  const value = lruCache.get(key);
  if (value !== undefined) {
    lruCache.delete(key); // move to the most recently used end
    lruCache.set(key, value);
  }
  return value;
}

function lruSet(key, value) {
  lruCache.delete(key);
  lruCache.set(key, value);
  while (lruCache.size > MAX_ENTRIES) {
    lruCache.delete(lruCache.keys().next().value);
  }
}

serve(function handle(req, res, seq) {
  lruSet('session-' + seq, { id: seq, url: req.url, createdAt: Date.now(), data: payload(seq) });
  const hit = lruGet('session-' + (seq - (seq % 7) - 3));
  res.end(hit ? 'hit\n' : 'miss\n');
});
