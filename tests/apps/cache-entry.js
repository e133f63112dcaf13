'use strict';
// The user class that `leak-cache.js <mode> class` stores instead of object literals. It lives in
// its own module so that leak-cache.js's module context is retained by the same closures in both
// variants.
const { payload } = require('./common');

class CacheEntry {
  constructor(req, seq) { // heapscan-expect: collection entry
    this.id = seq;
    this.url = req.url;
    this.createdAt = Date.now();
    this.data = payload(seq);
  }
}

module.exports = { CacheEntry };
