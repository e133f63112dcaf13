'use strict';
// LEAKS: the classic closure chain. Each request replaces `last` with a new closure whose
// context keeps `prev` (the previous closure) and `big` (an 8 KB array) alive, so every closure
// ever created stays reachable through the chain last -> context.prev -> context.prev -> ...
// (`big` holds small integers, not strings, so the snapshot has no per-element edges for it and
// stays small.)
const { serve } = require('./common');

let last = null;

function handler() {
  const prev = last;
  const big = new Array(1000).fill(0);
  last = function () { // heapscan-expect: closure
    return prev && big.length;
  };
}

serve(function handle(req, res, seq) {
  handler();
});
