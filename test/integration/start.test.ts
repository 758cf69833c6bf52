/**
 * `npm start` as a person runs it: the whole system comes up, the playground URL is printed on the
 * port asked for with PORT (0 here: any free one), and SIGINT (Ctrl-C) stops every process.
 *
 * npm start runs in a process group of its own, which the cleanup kills whole, so a failing test
 * leaves nothing running. "Nothing left behind" is checked on the processes npm start started (their
 * ids, read while they run), not on their ports: other test files may reuse a freed port at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { repoRoot } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { waitFor, withTimeout } from '../support/wait.ts';

/** A process as /proc shows it: its parent, its state letter, and its start time (to tell a reused id apart). */
function stat(pid: number): { ppid: number; state: string; started: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), started: fields[19]! };
  } catch {
    return undefined;
  }
}

interface ProcessId {
  pid: number;
  started: string;
}

/** Every live descendant of `root`, read from /proc. */
function descendants(root: number): ProcessId[] {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    starts.set(pid, s.started);
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const found: ProcessId[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of children.get(queue.shift()!) ?? []) {
      found.push({ pid, started: starts.get(pid)! });
      queue.push(pid);
    }
  }
  return found;
}

/** Whether that process (not a later one with the same id) still runs; a zombie does not. */
const alive = ({ pid, started }: ProcessId): boolean => {
  const s = stat(pid);
  return s !== undefined && s.started === started && s.state !== 'Z';
};

/** Kills npm start's whole process group; nothing to do if it is gone already. */
function killGroup(start: ChildProcess): void {
  try {
    process.kill(-start.pid!, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs `npm start`'s script with PORT=0 until it prints the playground URL. */
async function npmStart(t: TestContext) {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'info' };
  delete env['NODE_TEST_CONTEXT'];
  const start = spawn(process.execPath, ['scripts/start.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.after(() => killGroup(start));
  let output = '';
  const ports = new Set<number>();
  const printed = new Promise<string>((resolve, reject) => {
    createInterface({ input: start.stderr! }).on('line', (line) => (output += `${line}\n`));
    createInterface({ input: start.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      if (listening) ports.add(Number(listening[1]));
      const url = /playground: (http:\S+)/.exec(line);
      if (url) resolve(url[1]!);
    });
    start.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  const playground = await withTimeout(printed, 120_000, 'npm start printed no playground URL').catch((err: Error) => {
    throw new Error(`${err.message}; output:\n${output}`, { cause: err });
  });
  const port = Number(new URL(playground).port);
  ports.add(port);
  return { start, playground, port, ports, processes: descendants(start.pid!), output: () => output };
}

test('npm start runs the system on PORT, prints the playground URL, and stops everything on SIGINT', { timeout: 300_000 }, async (t) => {
  const { start, playground, port, ports, processes, output } = await npmStart(t);
  assert.equal(playground, `http://127.0.0.1:${port}/`);
  // Two services (the gRPC one has a metrics port too), three subgraphs and the gateway.
  assert.equal(ports.size, 7, output());
  assert.ok(processes.length >= 6, `npm start runs ${processes.length} processes`);
  const page = await fetch(playground, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Interchange playground<\/title>/);
  const { body } = await postGraphQL(`${playground}graphql`, '{ customers(first: 2) { name favoriteProducts { name } } }');
  assert.equal(body.errors, undefined);
  assert.equal((body.data as { customers: unknown[] }).customers.length, 2);

  const exited = once(start, 'exit') as Promise<[number | null]>;
  start.kill('SIGINT');
  const [code] = await withTimeout(exited, 60_000, 'npm start did not exit after SIGINT');
  assert.equal(code, 0, output());
  // npm start waits for every process it stopped, so none may be left, not even for a moment.
  assert.deepEqual(processes.filter(alive), [], 'processes still running after npm start stopped');
});

test('killing npm start outright (SIGKILL) still leaves no process behind', { timeout: 300_000 }, async (t) => {
  const { start, ports, processes, output } = await npmStart(t);
  assert.equal(ports.size, 7, output());
  assert.ok(processes.length >= 6, `npm start runs ${processes.length} processes`);
  const exited = once(start, 'exit');
  start.kill('SIGKILL');
  await withTimeout(exited, 60_000, 'npm start did not exit after SIGKILL');
  await waitFor(
    () => processes.filter(alive).length === 0,
    60_000,
    `a process of the system is still running (of ${processes.map((p) => p.pid).join(', ')})`,
    100,
  );
});
