// LEAKS, as an ES module: every request adds a 'data' listener to a long-lived EventEmitter and
// never removes it (the same leak as `leak-listener.js emitter`). V8 names ES modules' scripts
// by `file://` URL, and Node 16 writes their Script node's `name` as a `(concatenated string)`:
// heapscan must still report this file's path.
import { EventEmitter } from 'events';
import common from './common.js';

const { serve, payload } = common;

const moduleBus = new EventEmitter();
moduleBus.setMaxListeners(0); // no MaxListenersExceededWarning: the leak must stay silent

function subscribe(req, seq) {
  const ctx = { id: seq, url: req.url, samples: payload(seq) };
  moduleBus.on('data', function onModuleData(message) { // heapscan-expect: listener esm
    ctx.lastMessage = message;
  });
}

serve(function handle(req, res, seq) {
  subscribe(req, seq);
});
