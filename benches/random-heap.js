'use strict';
// The random object graph behind the benchmark snapshots (big-heap.js, diff-heap.js): TOTAL
// "records", each a small cluster that looks like application data (an object of one of a few
// classes with a unique string, some with an array of references, a Map, a Set, a closure or a
// boxed number), each pointing at a few others chosen by a seeded PRNG, so the graph's shape is
// the same on every run and the dominator tree gets a realistic tangle. Everything hangs off
// `globalThis.heapscanBench`, so it is all reachable.

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


/** Builds TOTAL records and returns the root array (a quarter of them). */
function buildRandomHeap(total) {
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
  // Random references between records.
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
  // Only a quarter of the records hang directly off the root array; the rest are reachable only
  // through the random references (records nobody references are collected before the snapshot).
  const roots = [];
  for (let i = 0; i < total; i += 4) roots.push(records[i]);
  globalThis.heapscanBench = { roots, index: new Map(roots.slice(0, 50000).map((r, i) => [i, r])) };
  records.length = 0;
  return roots;
}

module.exports = { buildRandomHeap, pick };
