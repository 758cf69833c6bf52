/** Each test file's processes get a DATA_DIR of their own, inside the run's (test/run.ts). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { temporaryDataDir } from './data-dir.ts';

const run = promisify(execFile);

/** The DATA_DIR a test file's process has once the run's preloads ran, as test/run.ts starts it. */
async function dataDirOfAFile(runDataDir: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', join(import.meta.dirname, 'file-data-dir.ts'), '-e', 'process.stdout.write(process.env.DATA_DIR)'],
    { env: { ...process.env, DATA_DIR: runDataDir, NODE_TEST_CONTEXT: 'child-v8' }, timeout: 10_000 },
  );
  return stdout;
}

describe("a test file's DATA_DIR", { timeout: 20_000 }, () => {
  test('two test files get two directories, both inside the run’s', async (t) => {
    const runDataDir = await temporaryDataDir(t);
    const [one, other] = await Promise.all([dataDirOfAFile(runDataDir), dataDirOfAFile(runDataDir)]);
    assert.notEqual(one, other);
    assert.equal(dirname(one), runDataDir);
    assert.equal(dirname(other), runDataDir);
  });

  const byTheRunner = (process.env['DATA_DIR'] ?? '').includes('interchange-test-data-');
  test('this file, run by test/run.ts, has one of its own', { skip: !byTheRunner && 'not run by test/run.ts' }, () => {
    // test/run.ts gives its runner the run's DATA_DIR; a file's is a directory inside it.
    assert.match(process.env['DATA_DIR'] ?? '', /interchange-test-data-[^/]+\/file-[^/]+$/);
  });
});
