'use strict';
// Allocates for a bounded time so `--trace-gc` has scavenges and full GCs to print.
//
//   node --trace-gc --expose-gc gc-app.js leak|steady [MS]
//
// `leak` keeps a quarter of what it allocates (heap-after-GC grows), `steady` keeps nothing
// (heap-after-GC stays flat). With --expose-gc it also forces a full GC every 100 ms, so even a
// short run has enough full GCs for a growth verdict. Prints one line of its own at the end.
const mode = process.argv[2] || 'leak';
const ms = Number(process.argv[3] || 1500);
const keep = [];
let n = 0;
const end = Date.now() + ms;
let lastGc = Date.now();
function tick() {
  for (let i = 0; i < 2000; i++) {
    const o = { i: n++, s: 'x'.repeat(64) + n };
    if (mode === 'leak' && n % 4 === 0) keep.push(o);
  }
  if (typeof global.gc === 'function' && Date.now() - lastGc >= 100) {
    lastGc = Date.now();
    global.gc();
  }
  if (Date.now() < end) setImmediate(tick);
  else console.log(`gc-app ${mode} done: kept ${keep.length}`);
}
tick();
