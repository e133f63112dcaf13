#!/usr/bin/env node
'use strict';
// Parity oracle: run Chrome DevTools' own heap snapshot worker (devtools-frontend's
// HeapSnapshot.ts / HeapSnapshotLoader.ts, as bundled in heap-snapshot-toolkit@1.1.3) over one
// snapshot and write everything it computed as a golden file for heapscan's tests.
//
//   node tools/parity/golden.js SNAPSHOT[.gz] [OUT.json.gz]
//
// OUT defaults to tests/golden/<sample-name>.json.gz, where <sample-name> is the snapshot's
// file name without `.heapsnapshot[.gz]` (tests/golden/synthetic/... for samples/synthetic/...). The output is deterministic for a given input
// (stable key order, gzip header without name or mtime).
//
// Every per-node column is in snapshot node order (node ordinal 0..N-1):
//   ids             node id
//   class_names     DevTools' className() (after interface inference for plain Objects)
//   class_keys      DevTools' public class key: ",<name>" or "<scriptId>,<line>,<col>,<name>"
//   distances       nodeDistances (-5 = unreachable, >= 100000000 = only reachable via the
//                   root's system (non-user-root) children)
//   retained_sizes  retainedSizes
//   dominator_ids   id of dominatorsTree[ordinal] (the root's is its own id)
//   self_sizes      selfSize() AFTER calculateShallowSizes (DevTools' "Shallow Size"),
//                   which can differ from the raw self_size in the file
//   flags           JSHeapSnapshot flags bits: 1 canBeQueried, 2 detachedDOMTreeNode, 4 pageObject
// plus aggregates (Summary rows, unfiltered), statistics, total_size, and `facts`: counts
// that explain the numbers (see docs/devtools-rules.md).

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const ORACLE = 'heap-snapshot-toolkit@1.1.3';
const NO_DISTANCE = -5;                   // HeapSnapshot.#noDistance
const BASE_SYSTEM_DISTANCE = 100000000;   // HeapSnapshotModel.baseSystemDistance

function usage() {
  console.error('usage: node golden.js SNAPSHOT[.heapsnapshot[.gz]] [OUT.json.gz]');
  process.exit(2);
}

function sampleName(file) {
  return path.basename(file).replace(/\.gz$/, '').replace(/\.heapsnapshot$/, '');
}

async function main() {
  const [input, outArg] = process.argv.slice(2);
  if (!input) usage();
  const repoRoot = path.resolve(__dirname, '..', '..');
  // samples/synthetic/X.heapsnapshot.gz -> tests/golden/synthetic/X.json.gz
  const sub = path.basename(path.dirname(path.resolve(input))) === 'synthetic' ? 'synthetic' : '';
  const out = outArg || path.join(repoRoot, 'tests', 'golden', sub, sampleName(input) + '.json.gz');

  const { parse } = await import('heap-snapshot-toolkit');

  const started = process.hrtime.bigint();
  const raw = fs.readFileSync(input);
  const bytes = input.endsWith('.gz') ? zlib.gunzipSync(raw) : raw;

  // DevTools' loader takes string chunks; feed it in 1 MiB pieces like a file stream would.
  // Snapshots are pure ASCII (V8 escapes everything else), so slicing bytes is safe, but
  // decode through StringDecoder anyway.
  const { Readable } = require('stream');
  const { StringDecoder } = require('string_decoder');
  const decoder = new StringDecoder('utf8');
  const CHUNK = 1 << 20;
  const chunks = [];
  for (let i = 0; i < bytes.length; i += CHUNK) chunks.push(decoder.write(bytes.subarray(i, i + CHUNK)));
  const tail = decoder.end();
  if (tail) chunks.push(tail);

  // Keep stdout clean in case a build of the worker still calls console.time/timeEnd/warn
  // (the 1.1.3 bundle strips them, so its "N nodes are unreachable" report never appears).
  const saved = { time: console.time, timeEnd: console.timeEnd, warn: console.warn };
  console.time = () => {};
  console.timeEnd = () => {};
  console.warn = () => {};
  let snapshot;
  try {
    snapshot = await parse(Readable.from(chunks, { objectMode: true }));
  } finally {
    Object.assign(console, saved);
  }
  const parsedMs = Number(process.hrtime.bigint() - started) / 1e6;

  // calculateShallowSizes() rewrites self sizes in place; read the raw ones from the file
  // itself so the facts can say how many moved.
  const rawJson = JSON.parse(bytes.toString('utf8'));
  const rawNodeFields = rawJson.snapshot.meta.node_fields;
  const rawSelfSizes = new Float64Array(snapshot.nodeCount);
  for (let i = 0, off = rawNodeFields.indexOf('self_size'); i < snapshot.nodeCount; i++) {
    rawSelfSizes[i] = rawJson.nodes[i * rawNodeFields.length + off];
  }

  const golden = buildGolden(snapshot, rawSelfSizes);
  golden.source = {
    sample: path.basename(input),
    sample_sha256: crypto.createHash('sha256').update(raw).digest('hex'),
    oracle: ORACLE,
    oracle_code: 'devtools-frontend front_end/entrypoints/heap_snapshot_worker/HeapSnapshot.ts (bundled)',
  };

  const json = JSON.stringify(golden);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const gz = zlib.gzipSync(Buffer.from(json), { level: 9 });
  fs.writeFileSync(out + '.tmp', gz);
  fs.renameSync(out + '.tmp', out);
  const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`${path.relative(process.cwd(), out)}: ${golden.node_count} nodes, ${golden.edge_count} edges, ` +
    `${gz.length} bytes gz (devtools ${parsedMs.toFixed(0)} ms, total ${totalMs.toFixed(0)} ms)`);
}

function buildGolden(s, rawSelfSizes) {
  const N = s.nodeCount;
  const nfc = s.nodeFieldCount;
  const efc = s.edgeFieldsCount;
  const nodes = s.nodes;
  const edges = s.containmentEdges;
  const node = s.createNode(0);

  const ids = new Array(N);
  const classNames = new Array(N);
  const classKeys = new Array(N);
  const distances = new Array(N);
  const retained = new Array(N);
  const domIds = new Array(N);
  const selfSizes = new Array(N);
  const flags = new Array(N);
  for (let i = 0; i < N; i++) {
    node.nodeIndex = i * nfc;
    ids[i] = node.id();
    classNames[i] = node.className();
    classKeys[i] = s.classKeyFromClassKeyInternal(node.classKeyInternal());
    distances[i] = s.nodeDistances[i];
    retained[i] = s.retainedSizes[i];
    domIds[i] = nodes.getValue(s.dominatorsTree[i] * nfc + s.nodeIdOffset);
    selfSizes[i] = node.selfSize();
    flags[i] = s.flagsOfNode(node);
  }

  // Unfiltered Summary view: HeapSnapshotConstructorsDataGrid asks for
  // aggregatesWithFilter(new NodeFilter()) -> key 'allObjects', no filter.
  const rawAggregates = s.aggregatesWithFilter({});
  const aggregates = {};
  for (const key of Object.keys(rawAggregates)) {
    const a = rawAggregates[key];
    aggregates[key] = { name: a.name, count: a.count, distance: a.distance, self: a.self, retained: a.maxRet };
  }

  return {
    node_count: N,
    edge_count: edges.length / efc,
    ids,
    class_names: classNames,
    class_keys: classKeys,
    distances,
    retained_sizes: retained,
    dominator_ids: domIds,
    self_sizes: selfSizes,
    flags,
    aggregates,
    statistics: s.getStatistics(),
    total_size: s.totalSize,
    facts: computeFacts(s, rawSelfSizes),
  };
}

// Counts that explain the goldens; they re-derive nothing DevTools does not, they only measure
// which of its rules fire on this snapshot (see docs/devtools-rules.md, "Empirical facts").
function computeFacts(s, rawSizes) {
  const N = s.nodeCount;
  const nfc = s.nodeFieldCount;
  const efc = s.edgeFieldsCount;
  const E = s.containmentEdges.length / efc;
  const nodes = s.nodes;
  const edges = s.containmentEdges;
  const rootOrd = s.rootNodeIndex / nfc;
  const flags = s.flags;
  const PAGE = s.nodeFlags.pageObject;
  const node = s.createNode(0);

  // Edge type histogram, shortcut edges, WeakMap ephemeron edges.
  const edgeTypes = {};
  let shortcutFromRoot = 0;
  let shortcutElsewhere = 0;
  let selfEdges = 0;
  let ephemeronFromTable = 0;
  let ephemeronOther = 0;
  let pageOwnedSkipped = 0;
  const essential = s.initEssentialEdges();
  let essentialCount = 0;
  for (let ord = 0; ord < N; ord++) {
    const from = ord * nfc;
    for (let e = s.firstEdgeIndexes[ord]; e < s.firstEdgeIndexes[ord + 1]; e += efc) {
      const t = edges.getValue(e + s.edgeTypeOffset);
      const tname = s.edgeTypes[t];
      edgeTypes[tname] = (edgeTypes[tname] || 0) + 1;
      const to = edges.getValue(e + s.edgeToNodeOffset);
      if (to === from) selfEdges++;
      if (t === s.edgeShortcutType) { if (ord === rootOrd) shortcutFromRoot++; else shortcutElsewhere++; }
      if (t === s.edgeInternalType) {
        const m = s.tryParseWeakMapEdgeName(edges.getValue(e + s.edgeNameOffset));
        if (m) {
          if (nodes.getValue(from + s.nodeIdOffset) === parseInt(m.tableId, 10)) ephemeronFromTable++;
          else ephemeronOther++;
        }
      }
      if (essential.getBit(e / efc)) essentialCount++;
      else if (ord !== rootOrd && t !== s.edgeWeakType && t !== s.edgeShortcutType && to !== from &&
               (flags[to / nfc] & PAGE) && !(flags[ord] & PAGE)) {
        // Dropped only by the "non-page-owned -> page-owned" rule (WeakMap table edges excluded below).
        const m = t === s.edgeInternalType ? s.tryParseWeakMapEdgeName(edges.getValue(e + s.edgeNameOffset)) : null;
        if (!(m && nodes.getValue(from + s.nodeIdOffset) === parseInt(m.tableId, 10))) pageOwnedSkipped++;
      }
    }
  }

  // Reachability over essential edges, as calculateDominatorsAndRetainedSizes sees it.
  const seen = new Uint8Array(N);
  const stack = [rootOrd];
  seen[rootOrd] = 1;
  const dfs = () => {
    let count = 0;
    while (stack.length) {
      const ord = stack.pop();
      count++;
      for (let e = s.firstEdgeIndexes[ord]; e < s.firstEdgeIndexes[ord + 1]; e += efc) {
        if (!essential.getBit(e / efc)) continue;
        const to = edges.getValue(e + s.edgeToNodeOffset) / nfc;
        if (!seen[to]) { seen[to] = 1; stack.push(to); }
      }
    }
    return count;
  };
  const reachable = dfs();
  let orphanRoots = 0;
  let orphanReached = 0;
  for (let ord = 0; ord < N; ord++) {
    if (seen[ord]) continue;
    let hasEssentialRetainer = false;
    for (let r = s.firstRetainerIndex[ord]; r < s.firstRetainerIndex[ord + 1]; r++) {
      if (essential.getBit(s.retainingEdges[r] / efc)) { hasEssentialRetainer = true; break; }
    }
    if (!hasEssentialRetainer) {
      orphanRoots++;
      seen[ord] = 1;
      stack.push(ord);
      orphanReached += dfs();
    }
  }
  const stillUnreachable = N - reachable - orphanReached;

  // Root's children and user roots.
  const rootChildren = [];
  for (let e = s.firstEdgeIndexes[rootOrd]; e < s.firstEdgeIndexes[rootOrd + 1]; e += efc) {
    node.nodeIndex = edges.getValue(e + s.edgeToNodeOffset);
    rootChildren.push({
      edge_type: s.edgeTypes[edges.getValue(e + s.edgeTypeOffset)],
      type: node.type(), name: node.rawName(), id: node.id(), user_root: s.isUserRoot(node),
    });
  }

  // Flags, distances, shallow-size transfer, node types.
  let canBeQueried = 0, detached = 0, pageObject = 0;
  let unreachableDist = 0, systemDist = 0, userDist = 0;
  let shallowChanged = 0, shallowZeroed = 0, shallowMovedBytes = 0;
  const nodeTypes = {};
  for (let ord = 0; ord < N; ord++) {
    const f = flags[ord];
    if (f & 1) canBeQueried++;
    if (f & 2) detached++;
    if (f & 4) pageObject++;
    const d = s.nodeDistances[ord];
    if (d === NO_DISTANCE) unreachableDist++;
    else if (d >= BASE_SYSTEM_DISTANCE) systemDist++;
    else userDist++;
    node.nodeIndex = ord * nfc;
    const t = node.type();
    nodeTypes[t] = (nodeTypes[t] || 0) + 1;
  }
  {
    for (let ord = 0; ord < N; ord++) {
      const now = nodes.getValue(ord * nfc + s.nodeSelfSizeOffset);
      if (now !== rawSizes[ord]) {
        shallowChanged++;
        if (now === 0) { shallowZeroed++; shallowMovedBytes += rawSizes[ord]; }
      }
    }
  }

  let detachednessNonZero = 0;
  if (s.nodeDetachednessAndClassIndexOffset !== -1) {
    for (let ord = 0; ord < N; ord++) {
      node.nodeIndex = ord * nfc;
      if (node.detachedness() !== 0) detachednessNonZero++;
    }
  }

  let interfaceRenamed = 0;
  for (let ord = 0; ord < N; ord++) {
    node.nodeIndex = ord * nfc;
    if (node.rawType() === s.nodeObjectType && node.rawName() === 'Object' && node.className() !== 'Object') {
      interfaceRenamed++;
    }
  }
  let locationKeyed = 0;
  for (let ord = 0; ord < N; ord++) {
    node.nodeIndex = ord * nfc;
    if (typeof node.classKeyInternal() === 'string') locationKeyed++;
  }

  return {
    node_types: nodeTypes,
    edge_types: edgeTypes,
    root_children: rootChildren,
    user_root_count: rootChildren.filter((c) => c.user_root).length,
    has_user_roots: rootChildren.some((c) => c.user_root),
    shortcut_edges_from_root: shortcutFromRoot,
    shortcut_edges_elsewhere: shortcutElsewhere,
    self_edges: selfEdges,
    weakmap_ephemeron_edges_from_table: ephemeronFromTable,
    weakmap_ephemeron_edges_other: ephemeronOther,
    essential_edges: essentialCount,
    non_essential_edges: E - essentialCount,
    edges_dropped_by_page_owned_rule: pageOwnedSkipped,
    flags_can_be_queried: canBeQueried,
    flags_detached_dom_tree_node: detached,
    flags_page_object: pageObject,
    nodes_with_nonzero_detachedness: detachednessNonZero,
    dominator_reachable_from_root: reachable,
    dominator_orphan_roots: orphanRoots,
    dominator_reached_from_orphans: orphanReached,
    dominator_still_unreachable: stillUnreachable,
    distance_user: userDist,
    distance_system: systemDist,
    distance_unreachable: unreachableDist,
    shallow_size_nodes_changed: shallowChanged,
    shallow_size_nodes_zeroed: shallowZeroed,
    shallow_size_bytes_moved: shallowMovedBytes,
    plain_objects_renamed_by_interface: interfaceRenamed,
    interface_definitions: JSON.parse(s.interfaceDefinitions()).length,
    location_keyed_nodes: locationKeyed,
  };
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
