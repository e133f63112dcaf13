'use strict';
// DOES NOT LEAK: every request adds listeners (on a long-lived EventEmitter, on `process` and on
// an EventTarget) that close over a per-request context, and removes them when the response
// is finished; a `once` listener is added and then fired.
const { EventEmitter } = require('events');
const { serve, payload } = require('./common');

const bus = new EventEmitter();
const hub = new EventTarget();

serve(function handle(req, res, seq) {
  const ctx = { id: seq, url: req.url, samples: payload(seq), messages: 0 };
  function onData(message) {
    ctx.messages += 1;
    ctx.last = message;
  }
  function onExit() {
    ctx.exited = true;
  }
  function onHubData() {
    ctx.messages += 1;
  }
  bus.on('data', onData);
  bus.once('done', function onDone() {
    ctx.done = true;
  });
  process.on('exit', onExit);
  hub.addEventListener('data', onHubData);

  bus.emit('data', seq);
  hub.dispatchEvent(new Event('data'));
  bus.emit('done');

  res.on('finish', function cleanUp() {
    bus.removeListener('data', onData);
    process.removeListener('exit', onExit);
    hub.removeEventListener('data', onHubData);
  });
  res.end('ok ' + ctx.messages + '\n');
});
