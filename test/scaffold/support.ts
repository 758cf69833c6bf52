/**
 * What the scaffolding tests share: a scratch copy of the project (test/support/scratch.ts), so
 * `interchange subgraph new --root <scratch>` never writes into the repository; and tsc on what it wrote.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';
import { postGraphQL } from '../support/graphql.ts';
import { interchange } from '../support/interchange.ts';

export const fixtures = join(repoRoot, 'test/fixtures/contracts');

/** `subgraph new`'s arguments for the topic fixture: inventory.events, its event schemas in fixtures/inventory-events/. */
export const inventoryTopic = ['--from-topic', 'inventory.events', '--event-schemas', join(fixtures, 'inventory-events')] as const;

export { scratchProject, type Scratch } from '../support/scratch.ts';

/** `tsc --noEmit` (the project's settings) on the given folders of the scratch project; resolves with its output, empty when clean. */
export async function typecheck(root: string, folders: string[]): Promise<string> {
  const config = join(root, 'tsconfig.scaffold.json');
  await writeFile(config, JSON.stringify({ extends: './tsconfig.json', include: folders }));
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, 'node_modules/.bin/tsc'),
      ['--noEmit', '-p', config],
      { cwd: root, timeout: 120_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => resolve(err ? `${stdout}${stderr}` || String(err) : ''),
    );
  });
}

/** Runs a test file with Node's test runner (as `npm test` would run the scaffolded subgraph's test). */
export function runTestFile(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--test', file], { timeout: 120_000, killSignal: 'SIGKILL', env: childEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** `npx interchange subgraph new <name> ARGS --root <root>`. */
export const subgraphNew = (root: string, name: string, ...args: string[]) =>
  interchange(['subgraph', 'new', name, ...args, '--root', root]);

/**
 * For a fake backend to prove calls are made at once: `hold` keeps each answer until `count` are
 * held (or 2 s have passed), so calls made one after another never overlap; `maxInFlight` says
 * how many were held together.
 */
export function concurrencyProbe(count: number) {
  const held: (() => void)[] = [];
  let maxInFlight = 0;
  const release = () => {
    for (const answer of held.splice(0)) answer();
  };
  return {
    hold(answer: () => void): void {
      held.push(answer);
      maxInFlight = Math.max(maxInFlight, held.length);
      if (held.length >= count) release();
      else setTimeout(release, 2_000).unref();
    },
    maxInFlight: () => maxInFlight,
  };
}

/** Writes small contracts into a temporary folder of their own, each in a folder of its own (so its file name is the one given). */
export function contractFolder(prefix: string) {
  let dir: string | undefined;
  return {
    async write(name: string, text: string): Promise<string> {
      dir ??= await mkdtemp(join(tmpdir(), prefix));
      const file = join(await mkdtemp(join(dir, 'contract-')), name);
      await writeFile(file, text);
      return file;
    },
    remove: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A generated subgraph (a process at `baseUrl`, `http://host:port`) called without the gateway's signed identity refuses: 401 UNAUTHENTICATED. */
export async function assertRefusesUnsigned(baseUrl: string): Promise<void> {
  const { status, body } = await postGraphQL(`${baseUrl}/graphql`, '{ __typename }');
  assert.equal(status, 401, JSON.stringify(body));
  assert.equal(body.errors?.[0]?.extensions?.['code'], 'UNAUTHENTICATED', JSON.stringify(body));
}
