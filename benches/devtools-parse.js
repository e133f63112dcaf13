'use strict';
// Times Chrome DevTools' own heap snapshot worker (devtools-frontend's HeapSnapshot.ts, as
// bundled in the npm package heap-snapshot-toolkit@1.1.3) on one snapshot, the way DevTools
// loads a file: the text streamed in 1 MiB string chunks into its loader, which parses it and
// computes retainers, dominators, retained sizes and distances; then the Summary view's class
// aggregates. Used by benches/compare.sh.
//
//   node --max-old-space-size=16384 benches/devtools-parse.js PEERS_DIR SNAPSHOT
//
// PEERS_DIR is the folder heap-snapshot-toolkit was npm-installed into. Prints one line:
//   devtools: parse <ms> ms, aggregates <ms> ms, <nodes> nodes, <classes> classes

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const { pathToFileURL } = require('url');

async function main() {
  const [peers, file] = process.argv.slice(2);
  if (!peers || !file) {
    console.error('usage: node devtools-parse.js PEERS_DIR SNAPSHOT');
    process.exit(2);
  }
  const resolved = createRequire(path.join(path.resolve(peers), 'package.json')).resolve('heap-snapshot-toolkit');
  const { parse } = await import(pathToFileURL(resolved).href);

  // The 1.1.3 bundle strips DevTools' console.time calls; silence any that remain.
  console.time = () => {};
  console.timeEnd = () => {};
  console.warn = () => {};

  const started = process.hrtime.bigint();
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const snapshot = await parse(stream);
  const parsed = process.hrtime.bigint();
  // The Summary view: HeapSnapshotConstructorsDataGrid asks for aggregatesWithFilter(new NodeFilter()).
  const aggregates = snapshot.aggregatesWithFilter({});
  const done = process.hrtime.bigint();
  const ms = (a, b) => (Number(b - a) / 1e6).toFixed(0);
  console.log(`devtools: parse ${ms(started, parsed)} ms, aggregates ${ms(parsed, done)} ms, ` +
    `${snapshot.nodeCount} nodes, ${Object.keys(aggregates).length} classes`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
