'use strict';
// Runs out of heap on purpose (start with --max-old-space-size=16): V8 then repeats its last
// GCs on stderr, run together on one line, before the fatal error.
const a = [];
for (;;) a.push({ x: 'y'.repeat(50) + a.length });
