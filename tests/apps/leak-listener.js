'use strict';
// LEAKS: every request adds a listener that is never removed. The listener closes over a
// per-request context (~4 KB), so each request leaks one closure, its context and the payload.
//
//   node leak-listener.js [emitter]   listeners on a long-lived EventEmitter (`bus`, event 'data')
//   node leak-listener.js process     listeners on `process` (event 'exit')
//   node leak-listener.js target      listeners on a long-lived EventTarget (`hub`, event 'data')
const events = require('events');
const { serve, mode, payload } = require('./common');

const which = mode(['emitter', 'process', 'target', 'bound']);

const bus = new events.EventEmitter();
bus.setMaxListeners(0); // no MaxListenersExceededWarning: the leak must stay silent
process.setMaxListeners(0);
const hub = new EventTarget();
events.setMaxListeners(0, hub);

function requestContext(req, seq) {
  return { id: seq, url: req.url, startedAt: Date.now(), samples: payload(seq) };
}

function subscribeEmitter(req, seq) {
  const ctx = requestContext(req, seq);
  bus.on('data', function onData(message) { // heapscan-expect: listener emitter
    ctx.lastMessage = message;
  });
}

function subscribeProcess(req, seq) {
  const ctx = requestContext(req, seq);
  process.on('exit', function onExit(code) { // heapscan-expect: listener process
    ctx.exitCode = code;
  });
}

function subscribeTarget(req, seq) {
  const ctx = requestContext(req, seq);
  hub.addEventListener('data', function onHubData(event) { // heapscan-expect: listener target
    ctx.lastEvent = event.type;
  });
}

// `node leak-listener.js bound`: a per-request Subscriber's method, bound, on `bus` ('data').
// (The samples in samples/ were made from this file: lines above must not move.)
class Subscriber {
  constructor(req, seq) {
    this.ctx = requestContext(req, seq);
  }

  onMessage(message) { // heapscan-expect: bound listener
    this.ctx.lastMessage = message;
  }
}

function subscribeBound(req, seq) {
  const subscriber = new Subscriber(req, seq);
  bus.on('data', subscriber.onMessage.bind(subscriber));
}

const subscribe = {
  emitter: subscribeEmitter,
  process: subscribeProcess,
  target: subscribeTarget,
  bound: subscribeBound,
}[which];

serve(function handle(req, res, seq) {
  subscribe(req, seq);
});
