/** Runs one of the project's scripts as a child process to its end, for the smoke tests of the bench and the chaos run. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';

export interface ScriptRun {
  /** The exit code (null when a signal ended it). */
  code: number | null;
  stdout: string;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

/**
 * Runs `node <script> <args>` from the repository's root. If the test ends first, the script is
 * sent `stop` (its own way of stopping what it started) and SIGKILL `graceMs` later.
 */
export async function runScript(
  t: TestContext,
  script: string,
  args: string[],
  stop: { signal: NodeJS.Signals; graceMs: number },
): Promise<ScriptRun> {
  const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill(stop.signal);
    setTimeout(() => child.kill('SIGKILL'), stop.graceMs).unref();
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, output };
}
