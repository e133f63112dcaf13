'use strict';
// Preload (`node -r ./benches/track-in-process.js benches/alloc-churn.js`): allocation
// tracking turned on from inside the process, the way `heapscan snap --track-allocations`
// does through its snapshot hook (an in-process inspector session that stays open), and
// stopped once the script's synchronous work is done (as `--stop-tracking` would; V8's
// inspector keeps the process alive while it tracks). Measures what that costs against
// `node --track-heap-objects` and against no tracking.
const inspector = require('inspector');

const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
setImmediate(() => {
  session.post('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false });
});
