'use strict';
// LEAKS: instances of a user class (RequestRecord, ~3.5 KB each) accumulate in a structure that
// is neither a Map/Set nor one growing Array.
//
//   node leak-class.js [list]  each record links to the previous one; only the newest is held
//   node leak-class.js tree    each record becomes a child of an earlier record (many small
//                              `children` arrays, none of which grows steadily)
//   node leak-class.js linked  each record is appended to a doubly linked list that the
//                              module holds by both ends (`oldestRecord`, `newestRecord`), as
//                              an LRU list without eviction does
//   node leak-class.js global  each record is stored as a property of the global object
//                              (`globalThis['request-' + seq]`), as code that uses globals as
//                              a registry does
const { serve, mode } = require('./common');

const which = mode(['list', 'tree', 'global', 'linked']);

class RequestRecord {
  constructor(req, seq, previous) { // heapscan-expect: class
    this.id = seq;
    this.method = req.method;
    this.url = req.url;
    this.receivedAt = Date.now();
    this.userAgent = req.headers['user-agent'] || '';
    this.trace = new Array(400).fill(seq);
    this.previous = previous;
    this.children = [];
  }
}

let newestRecord = null;
let oldestRecord = null; // `linked` mode
const rootRecord = { children: [] };
const recentRecords = []; // `tree` mode: a window of the last 50 records, to pick parents from
let recentCount = 0;
let parentPick = 1;

function record(req, seq) {
  if (which === 'list') {
    newestRecord = new RequestRecord(req, seq, newestRecord);
    return;
  }
  if (which === 'linked') {
    const rec = new RequestRecord(req, seq, newestRecord);
    if (newestRecord) newestRecord.next = rec;
    else oldestRecord = rec;
    newestRecord = rec;
    return;
  }
  if (which === 'global') {
    globalThis['request-' + seq] = new RequestRecord(req, seq, null);
    return;
  }
  const rec = new RequestRecord(req, seq, null);
  // A deterministic pseudo-random earlier record (or the root) becomes the parent.
  parentPick = (parentPick * 1103515245 + 12345) % 2147483648;
  const parent = recentRecords.length === 0 ? rootRecord : recentRecords[parentPick % recentRecords.length];
  parent.children.push(rec);
  recentRecords[recentCount % 50] = rec;
  recentCount += 1;
}

serve(function handle(req, res, seq) {
  record(req, seq);
});
