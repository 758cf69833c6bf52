/**
 * The README's graphql-ws client snippet runs as written: it is taken out of README.md, pointed at
 * the running system's gateway (only its URL changes), run as a process of its own with the
 * repository's node_modules, and prints the events of an order placed through the gateway.
 *
 * The snippet holds no type annotations, so it runs as a plain ES module.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { childEnv, repoRoot } from '../../lib/supervisor.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { bearer, postGraphQL } from '../support/graphql.ts';
import { Scope } from '../../lib/auth/principal.ts';
import { untilGatewayStats } from '../subscriptions/support.ts';
import { waitFor } from '../support/wait.ts';

/** The URL the README's snippets use for the gateway's WebSocket endpoint. */
const README_WS_URL = 'ws://127.0.0.1:4000/graphql';

/** The body of every fenced block of `language` in a Markdown text. */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
}

interface SnippetEvent {
  data?: { orderEvents: { cursor: string; type: string; order: { id: string; customer: { name: string } } } };
  errors?: unknown[];
}

describe("the README's graphql-ws client snippet", () => {
  let system: ExampleSystem | undefined;
  const snippetFile = join(repoRoot, '.build', `readme-graphql-ws-${process.pid}.mjs`);

  before(
    async () => {
      system = await startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn' });
    },
    { timeout: 90_000 },
  );
  after(async () => {
    await system?.stop();
    await rm(snippetFile, { force: true });
  });

  test('prints the events of an order placed through the gateway', { timeout: 60_000 }, async (t) => {
    const snippets = codeBlocks(await readFile(join(repoRoot, 'README.md'), 'utf8'), 'ts').filter((code) => /from 'graphql-ws'/.test(code));
    assert.equal(snippets.length, 1, 'one ts block of the README imports graphql-ws');
    const snippet = snippets[0]!;
    assert.ok(snippet.includes(README_WS_URL), `the snippet connects to ${README_WS_URL}`);
    const gatewayUrl = system!.gatewayUrl;
    await mkdir(join(repoRoot, '.build'), { recursive: true });
    await writeFile(snippetFile, snippet.replaceAll(README_WS_URL, `${gatewayUrl.replace(/^http/, 'ws')}/graphql`));

    // The snippet takes its token from TOKEN, as the README says to run it.
    const env = childEnv({ TOKEN: await system!.token({ scopes: ['orders:all'] }) });
    const client = spawn(process.execPath, [snippetFile], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => client.kill('SIGKILL'));
    const stdout: string[] = [];
    let stderr = '';
    createInterface({ input: client.stdout }).on('line', (line) => stdout.push(line));
    client.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    // The snippet runs until it is killed: its exit fails whatever the test is waiting for.
    const died = once(client, 'exit').then(([code]) => {
      throw new Error(`the snippet exited (${String(code)}):\n${stderr}${stdout.join('\n')}`);
    });
    died.catch(() => {});
    const unlessDied = <T>(wait: Promise<T>) => Promise.race([wait, died]);

    await unlessDied(untilGatewayStats(system!.opsUrl('gateway'), { shared: 1, subscribers: 1 }, 20_000));
    const { body } = await postGraphQL<{ placeOrder: { id: string } }>(
      `${gatewayUrl}/graphql`,
      'mutation { placeOrder(input: { customerId: "c3", lines: [{ productId: "p1", quantity: 1 }] }) { id } }',
      undefined,
      bearer(await system!.token({ customer: 'c3', scopes: [Scope.ORDERS_WRITE] })),
    );
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const orderId = body.data!.placeOrder.id;

    // The embedded fulfillment pays and then ships the order within seconds; PAID is not asked for.
    const events = () => stdout.map((line) => JSON.parse(line) as SnippetEvent);
    const ofOrder = () => events().filter((e) => e.data?.orderEvents.order.id === orderId);
    await unlessDied(
      waitFor(() => ofOrder().some((e) => e.data?.orderEvents.type === 'SHIPPED'), 30_000, 'no SHIPPED event printed', 50),
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the snippet printed:\n${stdout.join('\n')}`);
    });
    assert.deepEqual(
      events().filter((e) => e.errors !== undefined || e.data === undefined),
      [],
      'every printed result is an event',
    );
    const customer = generateCustomers()[2]!.name;
    assert.deepEqual(
      ofOrder().map((e) => ({ type: e.data!.orderEvents.type, customer: e.data!.orderEvents.order.customer.name })),
      [
        { type: 'PLACED', customer },
        { type: 'SHIPPED', customer },
      ],
    );
  });
});
