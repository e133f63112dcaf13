'use strict';
// DOES NOT LEAK: a steady-state server that only makes garbage. Every request builds objects,
// arrays, strings, a closure and JSON (tens of KB), uses them for the response and drops them.
const { serve, payload } = require('./common');

let served = 0;

class Reply {
  constructor(seq, items) {
    this.seq = seq;
    this.items = items;
  }
}

serve(function handle(req, res, seq) {
  const items = [];
  for (let i = 0; i < 20; i++) {
    items.push({ i: i, name: 'item-' + seq + '-' + i, data: payload(seq + i) });
  }
  const lookup = new Map(items.map(function (it) { return [it.name, it]; }));
  const text = JSON.stringify(new Reply(seq, items.slice(0, 3)));
  const parsed = JSON.parse(text);
  const sum = function () { return parsed.items.length + lookup.size; };
  served += 1;
  res.end('ok ' + served + ' ' + sum() + '\n');
});
