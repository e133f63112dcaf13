'use strict';
// LEAKS: closure chains, in one of two modes.
//
// `direct` (default): each request replaces `last` with a new closure whose context keeps
// `prev` (the previous closure) and `big` (an 8 KB array) alive, so every closure ever created
// stays reachable through the chain last -> context.prev -> context.prev -> ...
// (`big` holds small integers, not strings, so the snapshot has no per-element edges for it and
// stays small.)
//
// `object`: the well-known `replaceThing` leak. Each request replaces `theThing` with a new
// object whose method `someMethod` does not use `originalThing` (the previous object), but
// shares its context with `unused`, which does: V8 keeps one context per scope, so the new
// object keeps the previous one alive through someMethod -> context.originalThing ->
// .someMethod -> context.originalThing -> ...
const { serve, mode } = require('./common');

const which = mode(['direct', 'object']);

let last = null;

function handler() {
  const prev = last;
  const big = new Array(1000).fill(0);
  last = function () { // heapscan-expect: closure
    return prev && big.length;
  };
}

let theThing = null;

function replaceThing() {
  const originalThing = theThing;
  const unused = function () {
    if (originalThing) return 'hi';
    return '';
  };
  theThing = {
    longArray: new Array(1000).fill(0),
    someMethod: function () { // heapscan-expect: object chain
      return theThing.longArray.length;
    },
  };
  return unused;
}

serve(function handle(req, res, seq) {
  if (which === 'direct') handler();
  else replaceThing();
});
