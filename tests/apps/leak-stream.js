'use strict';
// LEAKS (mode `stalled`) or not (mode `drained`): every request writes a ~4 KB log line to
// `auditSink`, a Writable whose destination has stalled (its `write` never calls back) and
// never checks what `write()` returns, so every chunk waits in the stream's write buffer.
// In `drained` mode the destination keeps up: nothing waits.
const { Writable } = require('stream');
const { serve, mode } = require('./common');

const which = mode(['stalled', 'drained']);

const auditSink = new Writable({
  highWaterMark: 16 * 1024,
  write(chunk, encoding, done) {
    if (which === 'drained') setImmediate(done);
    // stalled: the destination never acknowledges, so `done` is never called
  },
});

function audit(req, seq) { // heapscan-expect: stream writer
  auditSink.write(JSON.stringify({ seq, url: req.url, at: 'x'.repeat(4000) }) + '\n');
}

serve(function handle(req, res, seq) {
  audit(req, seq);
});
