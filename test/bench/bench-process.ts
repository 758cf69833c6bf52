/** Runs the benchmark (`npm run bench`) as a child process, for the short runs of its smoke tests. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';

/**
 * Runs `npm run bench` with `args` to its end and asserts it exits 0; the bench is stopped (SIGINT,
 * then SIGKILL) if the test ends first.
 */
export async function runBench(t: TestContext, args: string[]): Promise<{ stdout: string; output: string }> {
  const child = spawn(process.execPath, ['test/bench/run.ts', ...args], {
    cwd: repoRoot,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    // The bench stops what it started on SIGINT; SIGKILL if it does not end.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, output);
  return { stdout, output };
}
