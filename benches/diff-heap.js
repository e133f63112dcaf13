'use strict';
// One process, three heap snapshots, growing in between: the input of the `heapscan diff`
// benchmark (issue 4, item 5).
//
//   node --max-old-space-size=8192 benches/diff-heap.js OUT_PREFIX [OBJECTS] [GROWTH]
//
// Builds the same kind of random object graph as big-heap.js (OBJECTS records, default
// 1,870,000: 735 MB on Node 20), writes OUT_PREFIX-1.heapsnapshot, then twice adds
// GROWTH records (default 60,000, ~22 MB of snapshot each) to a module-level Map that is never
// evicted (a real leak for `heapscan diff` to find) and writes OUT_PREFIX-2 and -3. All three
// snapshots come from this one process, so their object ids carry over (same_process: true).
// Each file is written as OUT.partial and renamed when complete.

const fs = require('fs');
const v8 = require('v8');

const prefix = process.argv[2];
const total = Number(process.argv[3] || process.env.HEAPSCAN_BENCH_OBJECTS || 1870000);
const growth = Number(process.argv[4] || process.env.HEAPSCAN_BENCH_GROWTH || 60000);
if (!prefix || !Number.isInteger(total) || total < 1 || !Number.isInteger(growth) || growth < 0) {
  console.error('usage: node diff-heap.js OUT_PREFIX [OBJECTS] [GROWTH]');
  process.exit(2);
}

// mulberry32: a tiny seeded PRNG (Math.random cannot be seeded).
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (n) => Math.floor(rand() * n);

class Customer {
  constructor(i) {
    this.id = i;
    this.name = 'customer-' + i;
    this.friend = null;
    this.orders = [];
  }
}
class Order {
  constructor(i) {
    this.id = i;
    this.ref = 'order#' + i.toString(36);
    this.amount = i + 0.5; // a heap number
    this.customer = null;
    this.next = null;
  }
}
class Session {
  constructor(i) {
    this.token = 'tok-' + (i * 2654435761 % 4294967296).toString(16);
    this.attrs = new Map();
    this.peer = null;
  }
}
class Node2 {
  constructor(i) {
    this.label = 'n' + i;
    this.edges = new Set();
    this.parent = null;
  }
}
function makeHandler(i, target) {
  const tag = 'handler-' + i;
  return function onEvent() { return tag.length + (target ? 1 : 0); };
}

const records = new Array(total);
for (let i = 0; i < total; i++) {
  switch (i % 5) {
    case 0: records[i] = new Customer(i); break;
    case 1: records[i] = new Order(i); break;
    case 2: records[i] = new Session(i); break;
    case 3: records[i] = new Node2(i); break;
    default: records[i] = { kind: 'plain', index: i, data: [i, i * 2, 'v' + i], link: null };
  }
}
for (let i = 0; i < total; i++) {
  const r = records[i];
  const a = records[pick(total)];
  const b = records[pick(total)];
  switch (i % 5) {
    case 0:
      r.friend = a;
      r.orders.push(b, records[pick(total)]);
      break;
    case 1:
      r.customer = a;
      r.next = b;
      break;
    case 2:
      r.peer = a;
      r.attrs.set('k' + (i % 97), b);
      r.attrs.set('cb', makeHandler(i, a));
      break;
    case 3:
      r.parent = a;
      r.edges.add(b);
      break;
    default:
      r.link = a;
      r.data.push(b);
  }
}
const roots = [];
for (let i = 0; i < total; i += 4) roots.push(records[i]);
globalThis.heapscanBench = { roots, index: new Map(roots.slice(0, 50000).map((r, i) => [i, r])) };
records.length = 0; // as in big-heap.js: the rest is reachable only through random references

// The leak: entries made per "request" and kept forever.
const requestCache = new Map();
let seq = 0;
function makeEntry(n) {
  return { id: n, url: '/req/' + n, owner: roots[pick(roots.length)], tags: ['t' + (n % 13), n] };
}
function grow(n) {
  for (let i = 0; i < n; i++) {
    seq += 1;
    requestCache.set('req-' + seq, makeEntry(seq));
  }
}

function snapshot(k) {
  const out = `${prefix}-${k}.heapsnapshot`;
  const tmp = `${out}.partial`;
  const used = process.memoryUsage().heapUsed;
  const started = Date.now();
  v8.writeHeapSnapshot(tmp);
  fs.renameSync(tmp, out);
  console.error(`diff-heap: ${out}: heap used ${(used / 1048576).toFixed(0)} MB, ` +
    `${requestCache.size} cached entries, written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

grow(growth); // warm-up: the leak is already there at the first snapshot
snapshot(1);
grow(growth);
snapshot(2);
grow(growth);
snapshot(3);
