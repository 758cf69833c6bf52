/**
 * `npm start` when something is wrong: a taken PORT is reported, by name, before anything starts;
 * a process that fails while the system starts is the one named on the last line, after every
 * other process has been stopped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';
import { temporaryDataDir } from '../support/data-dir.ts';

/** How `npm start`'s script is run, but for its environment. */
const NPM_START = [process.execPath, 'scripts/start.ts'] as const;

interface Run {
  code: number | null;
  /** stdout and stderr, one line per entry, in the order they arrived. */
  lines: string[];
  stderr: string[];
}

/** Runs `npm start`'s script with `env` laid over this process's environment, to its exit; killed in `t.after`. */
async function npmStart(t: TestContext, env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const [command, ...args] = NPM_START;
  const dataDir = await temporaryDataDir(t);
  const start = spawn(command, args, {
    cwd: repoRoot,
    env: childEnv({ LOG_LEVEL: 'info', DATA_DIR: dataDir, ...env }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  t.after(() => start.kill('SIGKILL'));
  const lines: string[] = [];
  const stderr: string[] = [];
  const stdoutDone = once(
    createInterface({ input: start.stdout! }).on('line', (line) => lines.push(line)),
    'close',
  );
  const stderrDone = once(
    createInterface({ input: start.stderr! }).on('line', (line) => {
      lines.push(line);
      stderr.push(line);
    }),
    'close',
  );
  const timer = setTimeout(() => start.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(start, 'exit')) as [number | null];
  clearTimeout(timer);
  await Promise.all([stdoutDone, stderrDone]);
  return { code, lines, stderr };
}

const lastLine = (lines: string[]) => lines.filter((l) => l.trim() !== '').at(-1) ?? '';

test('a PORT in use is reported at once, naming PORT=, and nothing is started', { timeout: 30_000 }, async (t) => {
  const taken: Server = createServer();
  t.after(() => taken.close());
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;

  const run = await npmStart(t, { PORT: String(port) }, 20_000);
  const output = run.lines.join('\n');
  assert.equal(run.code, 2, output);
  assert.equal(run.lines.length, 1, output);
  assert.match(
    lastLine(run.stderr),
    new RegExp(`^npm start: port ${port} on 127\\.0\\.0\\.1 is in use; choose another with PORT=\\d+ npm start`),
  );
  // Nothing was started: no process announced a listener, and the one line is all there is.
  assert.doesNotMatch(output, /listening/);
});

for (const [name, env, reason] of [
  ['gateway', { UPSTREAM_BACKLOG_EVENTS: '-1' }, /UPSTREAM_BACKLOG_EVENTS: .*\(got "-1"\)/],
  ['orders-subgraph', { JOURNAL_MAX_EVENTS: '0' }, /JOURNAL_MAX_EVENTS: .*\(got "0"\)/],
] as const) {
  test(`when the ${name} fails at start-up, the last line names it, after the others stopped`, { timeout: 90_000 }, async (t) => {
    // A setting only that process reads, with a value its configuration refuses (it exits 2).
    const run = await npmStart(t, { PORT: '0', ...env }, 60_000);
    const output = run.lines.join('\n');
    assert.equal(run.code, 1, output);
    const last = lastLine(run.lines);
    assert.ok(last.startsWith(`npm start: ${name} failed to start: invalid configuration for ${name}: `), output);
    assert.match(last, reason);
    assert.match(last, /\(exit code 2\)$/);
    assert.equal(lastLine(run.stderr), last, 'the verdict is the last line on stderr too');
    assert.doesNotMatch(output, /exited unexpectedly/);
    assert.doesNotMatch(output, /Interchange is up/);
  });
}
