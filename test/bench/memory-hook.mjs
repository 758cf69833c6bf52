// Preloaded into a gateway by `npm run bench -- --scenario federation-memory` (NODE_OPTIONS=--import
// this file): a `{ bench: 'memory' }` message on the IPC channel is answered with
// process.memoryUsage() as it is, and again after a full garbage collection (what is retained).
// The collection is reached without --expose-gc on the command line, so the process runs as it
// otherwise would. Plain JavaScript: it loads before anything else.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

if (process.send) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  process.on('message', (message) => {
    if (message?.bench !== 'memory') return;
    const now = process.memoryUsage();
    gc();
    process.send?.({ bench: 'memory', now, afterGc: process.memoryUsage() });
  });
}
