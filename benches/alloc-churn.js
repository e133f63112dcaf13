'use strict';
// A server-like allocation load for measuring what allocation tracking costs a process
// (`heapscan record --track-allocations`, i.e. `node --track-heap-objects`): request-sized
// objects made and mostly dropped, a tenth kept in a bounded cache.
//
//   node benches/alloc-churn.js [REQUESTS]                      (default 300,000)
//   node --track-heap-objects benches/alloc-churn.js [REQUESTS]
const requests = Number(process.argv[2] || 300000);
const cache = new Map();

function handle(n) {
  const req = { id: n, url: '/items/' + (n % 1000), headers: { accept: 'application/json' } };
  const body = { items: new Array(20).fill(n), at: n };
  if (n % 10 === 0) {
    cache.set(n, { req, body });
    if (cache.size > 5000) cache.delete(cache.keys().next().value);
  }
  return JSON.stringify(body).length;
}

let total = 0;
for (let n = 0; n < requests; n++) total += handle(n);
if (total === 0) console.log(total);
