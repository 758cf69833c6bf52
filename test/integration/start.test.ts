/**
 * `npm start` as a person runs it: the whole system comes up, the playground URL is printed on the
 * port asked for with PORT, and SIGINT (Ctrl-C) stops every process with nothing left listening.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { repoRoot } from '../../lib/supervisor.ts';
import { waitFor } from '../support/eventlog-contract.ts';
import { postGraphQL } from '../support/graphql.ts';
import { freePort, isListening } from '../support/ports.ts';

/** Runs `npm start`'s script on `port` until it prints the playground URL. */
async function npmStart(port: number) {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: 'info' };
  delete env['NODE_TEST_CONTEXT'];
  const start = spawn(process.execPath, ['scripts/start.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ports = new Set<number>([port]);
  const playground = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no playground URL within 30 s:\n${output}`)), 30_000);
    createInterface({ input: start.stderr }).on('line', (line) => (output += `${line}\n`));
    createInterface({ input: start.stdout }).on('line', (line) => {
      output += `${line}\n`;
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      if (listening) ports.add(Number(listening[1]));
      const url = /playground: (http:\S+)/.exec(line);
      if (url) {
        clearTimeout(timer);
        resolve(url[1]!);
      }
    });
    start.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  return { start, playground, ports, output: () => output };
}

test('npm start runs the system on PORT, prints the playground URL, and stops everything on SIGINT', async (t) => {
  const port = await freePort();
  const { start, playground, ports, output } = await npmStart(port);
  t.after(() => start.kill('SIGKILL'));
  assert.equal(playground, `http://127.0.0.1:${port}/`);
  // Two services (the gRPC one has a metrics port too), three subgraphs and the gateway.
  assert.equal(ports.size, 7, output());
  const page = await fetch(playground, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Interchange playground<\/title>/);
  const { body } = await postGraphQL(`${playground}graphql`, '{ customers(first: 2) { name favoriteProducts { name } } }');
  assert.equal(body.errors, undefined);
  assert.equal((body.data as { customers: unknown[] }).customers.length, 2);

  start.kill('SIGINT');
  const [code] = (await once(start, 'exit')) as [number | null];
  assert.equal(code, 0, output());
  for (const p of ports) assert.equal(await isListening(p), false, `port ${p} is still open after npm start stopped`);
});

test('killing npm start outright (SIGKILL) still leaves no process behind', async () => {
  const { start, ports } = await npmStart(await freePort());
  assert.equal(ports.size, 7);
  start.kill('SIGKILL');
  await once(start, 'exit');
  await waitFor(async () => (await Promise.all([...ports].map(isListening))).every((open) => !open), 20_000, 'a process of the system is still listening');
});
