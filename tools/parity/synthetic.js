#!/usr/bin/env node
'use strict';
// Writes small hand-made snapshots to samples/synthetic/*.heapsnapshot.gz, one per corner of
// DevTools' rules that the real Node.js samples do not reach (unreachable cycles, HTML-like and
// detached DOM names, legacy layouts without `detachedness` or user roots, map descriptors,
// sloppy_function_map, WeakMap ephemeron pairs, class-key collisions, extra_native_bytes).
// tools/parity/regen.sh turns each into tests/golden/synthetic/<name>.json.gz.
//
//   node tools/parity/synthetic.js [OUT_DIR]
//
// Deterministic: same output bytes on every run.

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native',
  'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

// spec: { nodes: [{ key, type, name, size, det?, edges: [[edgeType, nameOrIndex, targetKey]] }],
//         legacy?: true (no detachedness, has trace_node_id), extraNativeBytes?, locations?: [[key, script, line, col]] }
// Node 0 must be the root. Ids: root 1, then odd ids 3, 5, ... (JS objects have odd ids),
// natives get even ids unless given.
function build(spec) {
  const strings = ['<dummy>'];
  const stringIndex = new Map();
  const str = (s) => {
    if (!stringIndex.has(s)) { stringIndex.set(s, strings.length); strings.push(s); }
    return stringIndex.get(s);
  };
  const ord = new Map(spec.nodes.map((n, i) => [n.key, i]));
  const fields = spec.legacy ? ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id']
    : ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'];
  const K = fields.length;
  const nodes = [];
  const edges = [];
  let nextOdd = 3;
  let nextEven = 1000;
  spec.nodes.forEach((n, i) => {
    const id = n.id !== undefined ? n.id : i === 0 ? 1 : n.type === 'native' ? (nextEven += 2) : (nextOdd += 2) - 2;
    n.id = id;
  });
  for (const n of spec.nodes) {
    const row = [NODE_TYPES.indexOf(n.type), str(n.name), n.id, n.size || 0, n.edges ? n.edges.length : 0, 0];
    if (row[0] < 0) throw new Error('bad node type ' + n.type);
    if (!spec.legacy) row.push(n.det || 0);
    nodes.push(...row);
    for (const [et, nameOrIndex, target] of n.edges || []) {
      const t = EDGE_TYPES.indexOf(et);
      if (t < 0) throw new Error('bad edge type ' + et);
      if (!ord.has(target)) throw new Error('unknown target ' + target);
      const numeric = et === 'element' || et === 'hidden';
      let name = numeric ? nameOrIndex : str(typeof nameOrIndex === 'function' ? nameOrIndex(spec) : nameOrIndex);
      edges.push(t, name, ord.get(target) * K);
    }
  }
  const locations = [];
  for (const [key, script, line, col] of spec.locations || []) locations.push(ord.get(key) * K, script, line, col);
  const snapshot = {
    meta: {
      node_fields: fields,
      node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'].slice(0, K),
      edge_fields: ['type', 'name_or_index', 'to_node'],
      edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
      trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
      trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
      sample_fields: ['timestamp_us', 'last_assigned_id'],
      location_fields: ['object_index', 'script_id', 'line', 'column'],
    },
    node_count: spec.nodes.length,
    edge_count: edges.length / 3,
    trace_function_count: 0,
  };
  if (spec.extraNativeBytes !== undefined) snapshot.extra_native_bytes = spec.extraNativeBytes;
  // Same layout as V8: one JSON object, arrays of numbers, strings last.
  return '{"snapshot":' + JSON.stringify(snapshot) +
    ',\n"nodes":[' + nodes.join(',') + ']' +
    ',\n"edges":[' + edges.join(',') + ']' +
    ',\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[]' +
    ',\n"locations":[' + locations.join(',') + ']' +
    ',\n"strings":[' + strings.map((s) => JSON.stringify(s)).join(',\n') + ']}';
}

const id = (key) => (spec) => spec.nodes.find((n) => n.key === key).id;
const weakMapEdge = (idx, key, value, table) => (spec) =>
  `${idx} / part of key (Object @${id(key)(spec)}) -> value (Object @${id(value)(spec)}) pair in WeakMap (table @${id(table)(spec)})`;

const CASES = {
  // Nodes that no essential edge from the root reaches: orphans (no essential retainer at all,
  // including one kept only by a weak edge) and a cycle C1 <-> C2 kept only by itself, which
  // also points into the reachable graph (C2 -> B) and owns C3.
  'unreachable-cycle': {
    nodes: [
      { key: 'root', type: 'synthetic', name: '', edges: [['element', 1, 'gcroots'], ['shortcut', 'global', 'global']] },
      { key: 'gcroots', type: 'synthetic', name: '(GC roots)', edges: [['element', 1, 'code']] },
      { key: 'global', type: 'object', name: 'global', size: 40, edges: [['property', 'a', 'A'], ['weak', 'w', 'W']] },
      { key: 'A', type: 'object', name: 'A', size: 16, edges: [['property', 'b', 'B'], ['property', 'self', 'A']] },
      { key: 'B', type: 'object', name: 'B', size: 24, edges: [['property', 'x', 'X']] },
      { key: 'X', type: 'object', name: 'X', size: 8 },
      { key: 'code', type: 'code', name: 'compiled', size: 64 },
      { key: 'W', type: 'object', name: 'OnlyWeak', size: 32, edges: [['property', 'child', 'W2']] },
      { key: 'W2', type: 'object', name: 'OnlyWeakChild', size: 8 },
      { key: 'O', type: 'object', name: 'Orphan', size: 100, edges: [['property', 'o2', 'O2']] },
      { key: 'O2', type: 'object', name: 'OrphanChild', size: 10 },
      { key: 'C1', type: 'object', name: 'Cycle', size: 48, edges: [['property', 'next', 'C2'], ['property', 'own', 'C3']] },
      { key: 'C2', type: 'object', name: 'Cycle', size: 48, edges: [['property', 'next', 'C1'], ['property', 'b', 'B']] },
      { key: 'C3', type: 'object', name: 'CycleChild', size: 7 },
    ],
  },
  // HTML-like and detached DOM names, DOM link state propagation, '(Document DOM trees)' as a
  // user root and page-owned entry, and class keys that collide after conversion to public keys.
  'dom-names': {
    extraNativeBytes: 1000,
    nodes: [
      { key: 'root', type: 'synthetic', name: '', edges: [['element', 1, 'gcroots'], ['shortcut', 'window', 'window'], ['element', 2, 'domtrees']] },
      { key: 'gcroots', type: 'synthetic', name: '(GC roots)', edges: [['element', 1, 'hiddenSys'], ['element', 2, 'fnObj']] },
      { key: 'domtrees', type: 'synthetic', name: '(Document DOM trees)', edges: [['element', 1, 'doc']] },
      { key: 'window', type: 'object', name: 'Window', size: 40, edges: [['property', 'div', 'divWrapper'], ['property', 'img', 'imgObj'], ['property', 'sys', 'sysObj'], ['property', 'detachedRef', 'detWrapper'], ['property', 'fn', 'closure']] },
      { key: 'closure', type: 'closure', name: 'onClick', size: 36 },
      { key: 'doc', type: 'native', name: 'HTMLDocument', size: 100, det: 1, edges: [['element', 1, 'divA']] },
      { key: 'divA', type: 'native', name: '<div id="a" class="x">', size: 80, edges: [['element', 1, 'divB'], ['element', 2, 'shared']] },
      { key: 'divB', type: 'native', name: '<div>', size: 80 },
      { key: 'divWrapper', type: 'object', name: 'HTMLDivElement', size: 32, edges: [['internal', 'native', 'divA']] },
      { key: 'imgObj', type: 'object', name: '<img src=x onerror=alert(1)>', size: 24 },
      { key: 'detWrapper', type: 'object', name: 'HTMLSpanElement', size: 32, edges: [['internal', 'native', 'span']] },
      { key: 'span', type: 'native', name: '<span class="y">', size: 60, det: 2, edges: [['element', 1, 'spanChild'], ['element', 2, 'shared'], ['weak', 'w', 'weakChild'], ['hidden', 3, 'hiddenChild']] },
      { key: 'spanChild', type: 'native', name: '<b>', size: 40, edges: [['element', 1, 'text']] },
      { key: 'text', type: 'native', name: 'Text', size: 16 },
      { key: 'shared', type: 'native', name: '<p class="shared">', size: 20 },
      { key: 'weakChild', type: 'native', name: '<i>', size: 8 },
      { key: 'hiddenChild', type: 'native', name: '<u>', size: 8 },
      { key: 'sysObj', type: 'object', name: '(system)', size: 12 },
      { key: 'hiddenSys', type: 'hidden', name: 'system / Foo', size: 20 },
      { key: 'fnObj', type: 'object', name: 'Function', size: 28 },
    ],
  },
  // Pre-2021 layout: no detachedness field, and no user roots (root -> synthetic only), so no
  // shallow-size transfer and the root's distance is 0. Also the two distance filters for
  // '(map descriptors)' arrays and sloppy_function_map.
  'legacy-no-user-roots': {
    legacy: true,
    nodes: [
      { key: 'root', type: 'synthetic', name: '', edges: [['element', 1, 'gcroots']] },
      { key: 'gcroots', type: 'synthetic', name: '(GC roots)', edges: [['element', 1, 'ctx'], ['element', 2, 'descs'], ['element', 3, 'hop1']] },
      { key: 'hop1', type: 'object', name: 'Hop', size: 8, edges: [['property', 'next', 'hop2']] },
      { key: 'hop2', type: 'object', name: 'Hop', size: 8, edges: [['property', 'next', 'obj']] },
      { key: 'ctx', type: 'hidden', name: 'system / NativeContext', size: 200, edges: [['internal', 'sloppy_function_map', 'sfm'], ['internal', 'other_map', 'om']] },
      { key: 'sfm', type: 'object shape', name: 'system / Map', size: 80 },
      { key: 'om', type: 'object shape', name: 'system / Map', size: 80 },
      { key: 'descs', type: 'array', name: '(map descriptors)', size: 120, edges: [
        ['element', 0, 'd0'], ['element', 1, 'd1'], ['element', 2, 'd2'], ['element', 3, 'd3'], ['element', 4, 'd4'], ['element', 5, 'd5'], ['element', 6, 'd6'], ['element', 7, 'd7'], ['internal', 'enum_cache', 'd8']] },
      { key: 'd0', type: 'number', name: 'number', size: 16 },
      { key: 'd1', type: 'array', name: '(enum cache)', size: 16 },
      { key: 'd2', type: 'string', name: 'key0', size: 16 },
      { key: 'd3', type: 'number', name: 'number', size: 16 },
      { key: 'd4', type: 'object shape', name: 'system / Map', size: 16 },
      { key: 'd5', type: 'string', name: 'key1', size: 16 },
      { key: 'd6', type: 'number', name: 'number', size: 16 },
      { key: 'd7', type: 'hidden', name: 'system / Foo', size: 16 },
      { key: 'd8', type: 'array', name: '(enum cache)', size: 16 },
      { key: 'obj', type: 'object', name: 'Thing', size: 32, edges: [['internal', 'elements', 'arr'], ['property', 'd1', 'd1'], ['property', 'sfm', 'sfm'], ['property', 'd4', 'd4'], ['property', 'd7', 'd7']] },
      { key: 'arr', type: 'array', name: '(object elements)', size: 64 },
    ],
  },
  // A WeakMap value kept by the key and by the table: dominators ignore the table's edge,
  // distances take the later of the two. Also JS arrays (statistics), strings, plain-object
  // interface names, and class keys with locations.
  'weakmap-and-arrays': {
    nodes: [
      { key: 'root', type: 'synthetic', name: '', edges: [['element', 1, 'gcroots'], ['shortcut', 'global', 'global']] },
      { key: 'gcroots', type: 'synthetic', name: '(GC roots)', edges: [['element', 1, 'arrayCtor']] },
      { key: 'global', type: 'object', name: 'global', size: 40, edges: [
        ['property', 'wm', 'wm'], ['property', 'holder', 'holder'], ['property', 'arr1', 'arr1'], ['property', 'arr2', 'arr2'],
        ['property', 'p1', 'p1'], ['property', 'p2', 'p2'], ['property', 'p3', 'p3'], ['property', 'p4', 'p4'], ['property', 'p5', 'p5'], ['property', 'p6', 'p6'], ['property', 's', 'cons'], ['property', 'u1', 'u1'], ['property', 'u2', 'u2'], ['property', 'u3', 'u3']] },
      { key: 'wm', type: 'object', name: 'WeakMap', size: 32, edges: [['internal', 'table', 'table']] },
      { key: 'table', type: 'array', name: 'system / EphemeronHashTable', size: 64, edges: [['internal', weakMapEdge(1, 'key', 'value', 'table'), 'value'], ['weak', 'key', 'key']] },
      { key: 'holder', type: 'object', name: 'Holder', size: 16, edges: [['property', 'deeper', 'deeper']] },
      { key: 'deeper', type: 'object', name: 'Holder', size: 16, edges: [['property', 'key', 'key']] },
      { key: 'key', type: 'object', name: 'Object', size: 24, edges: [['internal', weakMapEdge(2, 'key', 'value', 'table'), 'value'], ['property', 'k', 'str1']] },
      { key: 'value', type: 'object', name: 'Object', size: 48, edges: [['property', 'v', 'str2']] },
      { key: 'arr1', type: 'object', name: 'Array', size: 32, edges: [['internal', 'elements', 'el1']] },
      { key: 'el1', type: 'array', name: '(object elements)', size: 80 },
      { key: 'arr2', type: 'object', name: 'Array', size: 32, edges: [['internal', 'elements', 'el2']] },
      { key: 'p1', type: 'object', name: 'Object', size: 20, edges: [['property', 'x', 'str1'], ['property', 'y', 'str2'], ['property', '__proto__', 'arr2']] },
      { key: 'p2', type: 'object', name: 'Object', size: 20, edges: [['property', 'y', 'str2'], ['property', 'x', 'str1'], ['internal', 'elements', 'el2']] },
      { key: 'p3', type: 'object', name: 'Object', size: 20, edges: [['property', 'x', 'str1'], ['property', 'y', 'str2'], ['property', 'z', 'str3']] },
      { key: 'p4', type: 'object', name: 'Object', size: 20, edges: [['property', 'x', 'str1'], ['property', 'y', 'str2']] },
      { key: 'p5', type: 'object', name: 'Object', size: 20, edges: [['property', 'a,b', 'str1'], ['property', 'z', 'str2']] },
      { key: 'p6', type: 'object', name: 'Object', size: 20, edges: [['property', 'a,b', 'str1'], ['property', 'z', 'str2']] },
      { key: 'el2', type: 'array', name: '(object elements)', size: 80 },
      { key: 'cons', type: 'concatenated string', name: 'ab', size: 32, edges: [['internal', 'first', 'str1'], ['internal', 'second', 'sliced']] },
      { key: 'sliced', type: 'sliced string', name: 'b', size: 32, edges: [['internal', 'parent', 'str3']] },
      { key: 'str1', type: 'string', name: 'a', size: 16 },
      { key: 'str2', type: 'string', name: 'caf\u00e9 \u4e2d\u6587 \uf600', size: 24 },
      { key: 'str3', type: 'string', name: '<script>alert(1)</script>', size: 40 },
      { key: 'arrayCtor', type: 'closure', name: 'Array', size: 56 },
      { key: 'u1', type: 'object', name: 'User', size: 24 },
      { key: 'u2', type: 'object', name: 'User', size: 24 },
      { key: 'u3', type: 'object', name: 'User', size: 24 },
    ],
    locations: [['u1', 7, 10, 2], ['u2', 7, 10, 2], ['u3', 8, 1, 0]],
  },
};

function main() {
  const repo = path.resolve(__dirname, '..', '..');
  const outDir = process.argv[2] || path.join(repo, 'samples', 'synthetic');
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, spec] of Object.entries(CASES)) {
    const json = build(spec);
    JSON.parse(json); // must be valid JSON
    const file = path.join(outDir, name + '.heapsnapshot.gz');
    fs.writeFileSync(file, zlib.gzipSync(Buffer.from(json), { level: 9 }));
    console.log(path.relative(process.cwd(), file));
  }
}

main();
