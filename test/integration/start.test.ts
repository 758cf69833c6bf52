/**
 * `npm start` as a person runs it: the whole system comes up, the playground URL is printed on the
 * port asked for with PORT (0 here: any free one), and SIGINT (Ctrl-C) stops every process.
 *
 * npm start runs in a process group of its own, which the cleanup kills whole, so a failing test
 * leaves nothing running. "Nothing left behind" is checked on the processes npm start started (their
 * ids, read while they run), not on their ports: other test files may reuse a freed port at once.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { temporaryDataDir } from '../support/data-dir.ts';
import { alive, descendants, signalGroup } from '../support/processes.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { readRegistry, runsWith } from '../../scripts/registry.ts';

/** The processes npm start runs (without Kafka) as the registry lists them, and the gateway, and how many ports they listen on. */
const started = [...(await readRegistry()).processes.filter((p) => runsWith(p, false)), { listeners: { http: 'PORT', ops: 'OPS_PORT' } }];
const LISTENERS = started.reduce((sum, p) => sum + Object.keys(p.listeners).length, 0);
const PROCESSES = started.length;

const authorized = (url: string, token: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ customers(first: 1) { id } }' }),
  });

/** Runs `npm start`'s script with PORT=0 until it prints the playground URL. */
async function npmStart(t: TestContext) {
  // A process group of its own, as a terminal gives it; and an IPC channel, through which it notices
  // when this test process goes away (even killed outright) and stops everything.
  const dataDir = await temporaryDataDir(t);
  const start = spawn(process.execPath, ['scripts/start.ts'], {
    cwd: repoRoot,
    env: childEnv({ PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  t.after(() => signalGroup(start.pid!, 'SIGKILL'));
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
  return { start, playground, port, ports, dataDir, processes: descendants(start.pid!), output: () => output };
}

test('npm start runs the system on PORT, prints the playground URL, and stops everything on SIGINT', { timeout: 300_000 }, async (t) => {
  const { start, playground, port, ports, dataDir, processes, output } = await npmStart(t);
  assert.equal(playground, `http://127.0.0.1:${port}/`);
  // Each process announces its ports over IPC and in a log line; the lines may still be in flight.
  await waitFor(() => ports.size >= LISTENERS, 10_000, `npm start did not print all ${LISTENERS} listeners`, 20).catch(() => {});
  assert.equal(ports.size, LISTENERS, output());
  assert.ok(processes.length >= PROCESSES, `npm start runs ${processes.length} processes`);
  const page = await fetch(playground, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>Interchange playground<\/title>/);
  const { body } = await postGraphQL(`${playground}graphql`, '{ customers(first: 2) { name favoriteProducts { name } } }');
  assert.equal(body.errors, undefined);
  assert.equal((body.data as { customers: unknown[] }).customers.length, 2);
  // The playground opens with a demo customer's token, which the gateway accepts.
  const demo = /Bearer ([\w-]+\.[\w-]+\.[\w-]+)/.exec(html)?.[1];
  assert.ok(demo, 'no token in the playground page');
  assert.equal((await authorized(`${playground}graphql`, demo)).status, 200);
  // So does one from `npx interchange token` (npm run token) on the same data directory, and none made up.
  const token = execFileSync(
    process.execPath,
    ['scripts/interchange.ts', 'token', '--customer', 'c3', '--scopes', 'orders:write', '--data-dir', dataDir],
    {
      cwd: repoRoot,
      env: childEnv({}),
      encoding: 'utf8',
    },
  ).trim();
  assert.equal((await authorized(`${playground}graphql`, token)).status, 200);
  assert.equal((await authorized(`${playground}graphql`, `${token.slice(0, -4)}AAAA`)).status, 401);

  const exited = once(start, 'exit') as Promise<[number | null]>;
  // Ctrl-C: the terminal signals the whole foreground group, npm start and every process it runs.
  signalGroup(start.pid!, 'SIGINT');
  const [code] = await withTimeout(exited, 60_000, 'npm start did not exit after SIGINT');
  assert.equal(code, 0, output());
  // npm start waits for every process it stopped, so none may be left, not even for a moment.
  assert.deepEqual(processes.filter(alive), [], 'processes still running after npm start stopped');
});

test('killing npm start outright (SIGKILL) still leaves no process behind', { timeout: 300_000 }, async (t) => {
  const { start, ports, processes, output } = await npmStart(t);
  // Each process announces its ports over IPC and in a log line; the lines may still be in flight.
  await waitFor(() => ports.size >= LISTENERS, 10_000, `npm start did not print all ${LISTENERS} listeners`, 20).catch(() => {});
  assert.equal(ports.size, LISTENERS, output());
  assert.ok(processes.length >= PROCESSES, `npm start runs ${processes.length} processes`);
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
