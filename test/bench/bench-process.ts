/** Runs the benchmark (`npm run bench`) as a child process, for the short runs of its smoke tests. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runScript } from '../support/script-run.ts';

/**
 * Runs `npm run bench` with `args` to its end and asserts it exits 0; the bench is stopped (SIGINT,
 * which stops what it started, then SIGKILL) if the test ends first.
 */
export async function runBench(t: TestContext, args: string[]): Promise<{ stdout: string; output: string }> {
  const { code, stdout, output } = await runScript(t, 'test/bench/run.ts', args, { signal: 'SIGINT', graceMs: 15_000 });
  assert.equal(code, 0, output);
  return { stdout, output };
}
