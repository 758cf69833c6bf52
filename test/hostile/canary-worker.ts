/**
 * The canaries in a thread of their own: what they measure is the gateway, not the stalls of the
 * thread that builds and sends a thousand hostile inputs (a 16 MB body takes a while to make).
 * Messages: the parent sends `stop`; the worker answers `live` once the canaries run, then the
 * reports.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Canaries, type CanaryTokens } from './canary.ts';

const { gatewayUrl, tokens } = workerData as { gatewayUrl: string; tokens: CanaryTokens };
const canaries = new Canaries(gatewayUrl, tokens);
await canaries.start();
parentPort!.postMessage({ type: 'live' });
parentPort!.once('message', () => {
  void canaries.stop().then((reports) => parentPort!.postMessage({ type: 'reports', reports }));
});
