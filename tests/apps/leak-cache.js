'use strict';
// LEAKS: every request stores an entry (~4 KB) under a unique key in a module-level structure
// that is never evicted.
//
//   node leak-cache.js [map]   `sessionCache`, a Map keyed by 'session-<n>'
//   node leak-cache.js object  `sessionsById`, a plain object used as a dictionary ('session-<n>')
//   node leak-cache.js array   `auditLog`, an Array that only grows (push)
//   node leak-cache.js set     `pendingJobs`, a Set of entries that are never deleted
//
// A second argument `class` makes the entries instances of the user class CacheEntry (from
// cache-entry.js) instead of object literals (e.g. `node leak-cache.js map class`). Object
// literals have no source location in a heap snapshot (their constructor is the built-in
// Object); CacheEntry instances do (V8 locates them at their constructor).
const { serve, mode, payload } = require('./common');
const { CacheEntry } = require('./cache-entry');

const which = mode(['map', 'object', 'array', 'set', 'global']);
const classEntries = process.argv[3] === 'class';

const sessionCache = new Map();
const sessionsById = {};
const auditLog = [];
const pendingJobs = new Set();

function makeEntry(req, seq) {
  if (classEntries) return new CacheEntry(req, seq);
  return { id: seq, url: req.url, createdAt: Date.now(), data: payload(seq) };
}

function remember(req, seq) {
  const key = 'session-' + seq;
  const entry = makeEntry(req, seq);
  if (which === 'map') {
    sessionCache.set(key, entry); // leaks here (map)
  } else if (which === 'object') {
    sessionsById[key] = entry; // leaks here (object)
  } else if (which === 'array') {
    auditLog.push(entry); // leaks here (array)
  } else if (which === 'global') {
    globalCache().set(key, entry); // leaks here (global: `globalThis.requestCache`, a Map)
  } else {
    pendingJobs.add(entry); // leaks here (set)
  }
}

function globalCache() {
  if (!globalThis.requestCache) globalThis.requestCache = new Map();
  return globalThis.requestCache;
}

serve(function handle(req, res, seq) {
  remember(req, seq);
});
