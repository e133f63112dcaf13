'use strict';
// Builds a small but varied heap, then writes one V8 heap snapshot.
//
//   node samples/app.js OUT.heapsnapshot
//
// Runs unchanged on Node 16..24 (CommonJS, no optional chaining on old-only APIs).
// Everything interesting hangs off `globalThis.heapscanSample` or is retained by a
// closure, a timer or an event listener, so it is reachable from the GC roots.
// No randomness: two runs build the same object graph (ids and addresses still differ).

const v8 = require('v8');
const path = require('path');
const { EventEmitter } = require('events');

const out = process.argv[2];
if (!out) {
  console.error('usage: node app.js OUT.heapsnapshot');
  process.exit(2);
}

// ---- user classes -------------------------------------------------------------

class ListNode {
  constructor(value, next) {
    this.value = value;
    this.next = next;
  }
}

// A singly linked list of 20,000 nodes: a graph 20k edges deep, which breaks any
// recursive DFS and gives the dominator tree a long chain.
class LinkedList {
  constructor() {
    this.head = null;
    this.length = 0;
  }
  push(value) {
    this.head = new ListNode(value, this.head);
    this.length++;
  }
}

class TreeNode {
  constructor(depth, label) {
    this.label = label;
    this.left = depth > 0 ? new TreeNode(depth - 1, label + 'L') : null;
    this.right = depth > 0 ? new TreeNode(depth - 1, label + 'R') : null;
  }
}

class Shape {
  constructor(name) { this.name = name; }
  area() { return 0; }
}
class Circle extends Shape {
  constructor(r) { super('circle'); this.r = r; this.ratio = r / 3; /* heap number */ }
  area() { return Math.PI * this.r * this.r; }
}
class Rect extends Shape {
  constructor(w, h) { super('rect'); this.w = w; this.h = h; }
  area() { return this.w * this.h; }
}

// Two different classes with the same name `Item`, defined at different source
// locations: DevTools keys its Summary rows by name *and* location, so these must
// stay separate rows.
const ItemA = (() => class Item { constructor(i) { this.i = i; this.kind = 'a'; } })();
const ItemB = (() => class Item { constructor(i) { this.i = i; this.kind = 'b'; this.extra = [i]; } })();

class UserSession {
  constructor(id, name) {
    this.id = id;
    this.name = name;
    this.createdAt = new Date(1700000000000 + id * 1000);
    this.tags = new Set(['user', id % 2 ? 'odd' : 'even']);
  }
}

class LRUCache {
  constructor(limit) {
    this.limit = limit;
    this.map = new Map();
  }
  set(k, v) {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value);
  }
}

// ---- build the heap -------------------------------------------------------------

const list = new LinkedList();
for (let i = 0; i < 20000; i++) list.push(i);

const tree = new TreeNode(8, 'root'); // 511 nodes

const shapes = [];
for (let i = 0; i < 50; i++) shapes.push(i % 2 ? new Circle(i) : new Rect(i, i + 1));

const items = [];
for (let i = 0; i < 30; i++) items.push(new ItemA(i), new ItemB(i));

// Map / Set / Array caches.
const sessions = new Map();
for (let i = 0; i < 200; i++) sessions.set('session-' + i, new UserSession(i, 'user' + i));
const seenIds = new Set();
for (let i = 0; i < 300; i++) seenIds.add(i * 7);
const lru = new LRUCache(64);
for (let i = 0; i < 100; i++) lru.set('k' + i, { payload: 'value-' + i });
const arrayCache = [];
for (let i = 0; i < 500; i++) arrayCache.push({ idx: i, label: 'entry ' + i });
const holeyArray = [1, , 3]; // eslint-disable-line no-sparse-arrays
const doubleArray = [1.5, 2.5, 3.5];

// Plain-object dictionaries (dictionary-mode objects).
const dict = Object.create(null);
for (let i = 0; i < 400; i++) dict['key_' + i] = i % 3 ? 'v' + i : { nested: i };
const shrunk = { a: 1, b: 2, c: 3, d: 4 };
delete shrunk.b; // forces slow (dictionary) properties
const config = { env: 'test', port: 8080, flags: { verbose: true, retries: 3 } };

// Typed arrays and ArrayBuffers.
const rawBuffer = new ArrayBuffer(64 * 1024);
const bytes = new Uint8Array(rawBuffer, 16, 1024);
const floats = new Float64Array(2048);
for (let i = 0; i < floats.length; i++) floats[i] = i / 7;
const view = new DataView(new ArrayBuffer(256));
const nodeBuffer = Buffer.alloc(8192, 0x61);
const smallBuffer = Buffer.from('héllo wörld'); // pooled slice

// Strings: non-ASCII, emoji, HTML-looking text, cons and sliced strings.
const strings = {
  accented: 'café crème brûlée é',
  chinese: '中文字符串 (Chinese text)',
  emoji: 'party 🎉 time 😀',
  html: '<script>alert(1)</script>',
  long: 'lorem ipsum dolor sit amet '.repeat(200),
};
strings.cons = strings.accented + ' + ' + strings.chinese; // ConsString
strings.sliced = strings.long.substring(27, 27 + 200);    // SlicedString
strings.flatNumberish = String(1234567890123);
const htmlKeyed = { '<img src=x onerror=alert(1)>': 'xss-in-a-property-name', '中文键': 'non-ascii key', 'é': 1 };

// Closures capturing context.
function makeCounter(start) {
  let count = start;
  const history = [];
  return function increment(step) {
    count += step;
    history.push(count);
    return count;
  };
}
const counters = [makeCounter(0), makeCounter(100), makeCounter(1000)];
const bigCapture = (() => {
  const captured = new Array(1000).fill('captured string');
  return () => captured.length;
})();
const boundFn = Shape.prototype.area.bind(new Rect(2, 3));
const arrow = (x) => x * 2;
function* generatorFn() { yield 1; yield 2; }
const suspendedGen = generatorFn();
suspendedGen.next();
async function asyncFn() { return 1; }

// WeakMap / WeakSet / WeakRef with live keys (keys are kept alive elsewhere).
const weakKeys = [];
const weakMap = new WeakMap();
const weakSet = new WeakSet();
for (let i = 0; i < 20; i++) {
  const key = { weakKey: i };
  weakKeys.push(key);
  weakMap.set(key, { weakValue: i, blob: 'weak value ' + i });
  weakSet.add(key);
}
const weakRefTarget = { target: 'kept alive by weakKeys' };
weakKeys.push(weakRefTarget);
const weakRef = typeof WeakRef === 'function' ? new WeakRef(weakRefTarget) : null;
const registry = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(() => {}) : null;
if (registry) registry.register(weakKeys[0], 'token');

// EventEmitter with a few listeners.
const emitter = new EventEmitter();
const received = [];
emitter.on('data', function onData(chunk) { received.push(chunk); });
emitter.on('data', (chunk) => received.push(String(chunk).length));
emitter.once('end', function onEnd() { received.length = 0; });
emitter.on('error', function onError(err) { received.push(err.message); });
emitter.emit('data', 'first chunk');

// A timer (cleared right after the snapshot) and promises.
let ticks = 0;
const timerState = { name: 'interval-state', samples: [] };
const interval = setInterval(() => { ticks++; timerState.samples.push(ticks); }, 60 * 1000);
let resolvePending;
const pending = new Promise((resolve) => { resolvePending = resolve; });
const resolved = Promise.resolve({ resolvedWith: 'value' });
const rejected = Promise.reject(new Error('handled rejection'));
rejected.catch(() => {});

// Symbol-keyed properties and other built-ins.
const secret = Symbol('heapscan.secret');
const symbolHolder = { [secret]: { hidden: true }, [Symbol.for('heapscan.registered')]: 42, visible: 1 };
const misc = {
  regexp: /heap(scan)?-\d+/gi,
  date: new Date(0),
  error: new Error('sample error'),
  bigint: 12345678901234567890n,
  proxy: new Proxy({ target: true }, { get: (t, k) => t[k] }),
  frozen: Object.freeze({ frozen: 'yes' }),
  heapNumber: 3.14159,
  nested: { level1: { level2: { level3: { level4: 'deep' } } } },
};

// One global root object so everything is easy to find from (Global).
globalThis.heapscanSample = {
  list, tree, shapes, items, sessions, seenIds, lru, arrayCache, holeyArray, doubleArray,
  dict, shrunk, config, rawBuffer, bytes, floats, view, nodeBuffer, smallBuffer,
  strings, htmlKeyed, counters, bigCapture, boundFn, arrow, suspendedGen, asyncFn,
  weakKeys, weakMap, weakSet, weakRef, registry, emitter, timerState, pending, resolved,
  symbolHolder, misc,
};

// ---- snapshot -------------------------------------------------------------------

const file = v8.writeHeapSnapshot(path.resolve(out));
clearInterval(interval);
resolvePending('done');
console.log(file);
