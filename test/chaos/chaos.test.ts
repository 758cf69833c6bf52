/**
 * A short chaos run (`npm run chaos` with a few hundred events, every fault of the schedule) as
 * part of the suite: the delivery promise and safe retries hold, and the summary adds up.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runScript } from '../support/script-run.ts';
import type { Summary } from './report.ts';

test('a short chaos run finds no duplicate, missing or out-of-order delivery and no duplicate order', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'summary.json');
  const args = ['--events', '300', '--seconds', '45', '--subscribers', '12', '--drain', '20', '--timeout', '170', '--json', json];
  // Ctrl-C's path first (the run stops what it started), then the hard way.
  const { code, output } = await runScript(t, 'test/chaos/cli.ts', args, { signal: 'SIGTERM', graceMs: 20_000 });

  assert.notEqual(code, 2, `the chaos run itself failed:\n${output}`);
  const summary = JSON.parse(await readFile(json, 'utf8')) as Summary;
  const { log, classes, commands, faults } = summary;
  assert.ok(log.applied > 0 && log.applied <= log.records, `applied ${log.applied} of ${log.records} records`);
  assert.ok(log.malformed >= 12, `the hostile records were read back as malformed (${log.malformed})`);
  assert.equal(classes.total.subscribers, 12);
  assert.equal(classes.plain.expected, 4 * log.applied, 'a plain subscriber is owed every applied event');
  assert.ok(classes.total.delivered > 0);
  assert.ok(commands.commands > 0 && commands.attempts >= commands.commands);
  assert.deepEqual(
    faults.filter((f) => !f.ok),
    [],
    'every fault was injected',
  );
  assert.equal(faults.length, 10);
  assert.deepEqual(summary.failures, [], output);
  assert.equal(code, 0, output);
});
