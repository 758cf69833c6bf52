/**
 * Preloaded into every test file's process by test/run.ts (`--import`): the file gets a DATA_DIR of
 * its own, a new directory inside the run's, so that the processes a file starts without a
 * DATA_DIR of their own (a gateway's usage record, `gateway-usage.json`, among them) never share it
 * with those of a file running beside it. The run removes its DATA_DIR, and these with it.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

const runDataDir = process.env['DATA_DIR'];
// Only in a file's own process, not in the runner that starts the files.
if (process.env['NODE_TEST_CONTEXT'] !== undefined && runDataDir !== undefined) {
  process.env['DATA_DIR'] = mkdtempSync(join(runDataDir, 'file-'));
}
