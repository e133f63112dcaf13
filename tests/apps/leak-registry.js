'use strict';
// LEAKS (mode `held-target`) or not (mode `held-id`): every request opens a `Connection` and
// registers it with a FinalizationRegistry so that its handle is released when the connection
// is collected. In `held-target` mode the held value passed to `register` is the connection
// itself (inside an object), and the registry holds held values strongly: no connection is ever
// collected, and the registry's cells pile up. In `held-id` mode the held value is the id only.
const { serve, mode, payload } = require('./common');

const which = mode(['held-target', 'held-id']);

const openHandles = new Set();

const connectionCleanup = new FinalizationRegistry(function releaseHandle(held) {
  openHandles.delete(which === 'held-id' ? held : held.connection.id);
});

class Connection {
  constructor(seq) { // heapscan-expect: registered target
    this.id = seq;
    this.buffer = payload(seq);
  }
}

function open(seq) {
  const connection = new Connection(seq);
  openHandles.add(seq);
  openHandles.delete(seq - 50);
  connectionCleanup.register(connection, which === 'held-id' ? seq : { connection });
  return connection;
}

serve(function handle(req, res, seq) {
  open(seq);
});
