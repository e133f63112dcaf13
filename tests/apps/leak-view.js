'use strict';
// LEAKS (modes `string`, `buffer`) or not (modes `string-copy`, `buffer-copy`): each request
// reads a large body (a 16 KB string, or a 16 KB Buffer) and keeps short pieces of it.
//
// `string`: the piece is `body.slice(0, 40)`, kept in the Map `recentPrefixes`. V8 makes a
// substring of 13 characters or more a *sliced string* that points at its parent, so each
// 40-character piece keeps the whole 16 KB body alive.
// `buffer`: two fields of the body, `body.subarray(0, 16)` and `body.subarray(16, 40)`, are
// pushed to the array `recentFields`: views of the same memory, so each pair keeps the whole
// 16 KB ArrayBuffer alive.
// The `-copy` twins keep copies of the pieces instead, and only the last 100: no leak.
const { serve, mode } = require('./common');

const which = mode(['string', 'buffer', 'string-copy', 'buffer-copy']);

const recentPrefixes = new Map();
const recentFields = [];

function readBody(seq) {
  if (which.startsWith('string')) {
    return ('request ' + seq + ' ').padEnd(16 * 1024, 'x');
  }
  return Buffer.alloc(16 * 1024, seq & 0xff);
}

function rememberPrefix(seq, body) { // heapscan-expect: view string
  const prefix = which === 'string'
    ? body.slice(0, 40)
    : Buffer.from(body.slice(0, 40)).toString();
  recentPrefixes.set(seq, prefix);
  if (which === 'string-copy') recentPrefixes.delete(seq - 100);
}

function rememberFields(body) { // heapscan-expect: view buffer
  if (which === 'buffer') {
    recentFields.push(body.subarray(0, 16), body.subarray(16, 40));
  } else {
    recentFields.push(Buffer.from(body.subarray(0, 16)), Buffer.from(body.subarray(16, 40)));
    if (recentFields.length > 200) recentFields.splice(0, 2);
  }
}

serve(function handle(req, res, seq) {
  const body = readBody(seq);
  if (which.startsWith('string')) rememberPrefix(seq, body);
  else rememberFields(body);
});
