/**
 * `npx interchange check` against a real gateway process and the operations it served: a gateway
 * on the ticks subgraph (test/edge/support.ts) serves a few operations over HTTP, graphql-ws and
 * Server-Sent Events; its usage record (ops listener `GET /usage`) names them; then `check`, run as
 * users run it, compares registries whose SDL removes a field one of those operations used, or adds
 * an optional field, with what the gateway serves.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { usageFileSchema, type UsageFile } from '../../gateway/src/usage/record.ts';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { composeSupergraph } from '../../scripts/composition.ts';
import { TICKS, TICKS_SDL, startTicksSubgraph, type TicksSubgraph } from '../edge/support.ts';
import { temporaryDataDir } from '../support/data-dir.ts';
import { postGraphQL } from '../support/graphql.ts';
import { refusingPort } from '../support/ports.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { interchange } from '../support/interchange.ts';
import { waitFor } from '../support/wait.ts';

/** A registry of the ticks subgraph, at `url`, with this SDL. */
async function registry(dir: string, name: string, sdl: string, url: string): Promise<string> {
  await writeFile(join(dir, `${name}.graphql`), sdl);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `subgraphs:\n  - name: ticks\n    schema: ${name}.graphql\n    url: ${url}\n`);
  return file;
}

const startGateway = (supergraph: string, dataDir: string): Promise<Child<'http' | 'ops'>> =>
  startChild({
    name: 'gateway',
    entry: 'gateway/src/main.ts',
    env: {
      SUPERGRAPH: supergraph,
      SUPERGRAPH_WATCH: 'false',
      DATA_DIR: dataDir,
      IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      PORT: '0',
      OPS_PORT: '0',
      LOG_LEVEL: 'error',
    },
    listeners: ['http', 'ops'],
  });

const usageOf = async (opsUrl: string): Promise<UsageFile> => usageFileSchema.parse(await (await fetch(`${opsUrl}/usage`)).json());

describe('npx interchange check against a gateway and the operations it served', { timeout: 120_000 }, () => {
  let dir: string;
  let dataDir: string;
  let subgraph: TicksSubgraph;
  let gateway: Child<'http' | 'ops'>;
  let supergraph: string;
  let opsUrl: string;
  /** Registries of the ticks subgraph: as served, without `Tick.topic`, with an optional `Tick.label`. */
  let registries: { served: string; removed: string; added: string };

  // Stopped in the reverse order of their start, once every test is done.
  const started: (() => unknown)[] = [];
  after(async () => {
    for (const stop of started.reverse()) await stop();
  });

  before(async () => {
    dir = await temporaryDataDir({ after: (stop) => started.push(stop) });
    dataDir = join(dir, 'data');
    await mkdir(dataDir);
    subgraph = await startTicksSubgraph();
    started.push(() => subgraph.stop());
    registries = {
      served: await registry(dir, 'served', TICKS_SDL, subgraph.url),
      removed: await registry(dir, 'removed', TICKS_SDL.replace('topic: String! }', '}'), subgraph.url),
      added: await registry(dir, 'added', TICKS_SDL.replace('topic: String! }', 'topic: String! label: String }'), subgraph.url),
    };
    const composed = await composeSupergraph(registries.served);
    if (!composed.ok) throw new Error(composed.errors.join('\n'));
    supergraph = join(dir, 'supergraph.graphql');
    await writeFile(supergraph, composed.supergraphSdl);
    gateway = await startGateway(supergraph, dataDir);
    started.push(() => gateway.stop());
    opsUrl = `http://127.0.0.1:${gateway.ports.ops}`;

    // Served: a query twice over HTTP, a query over graphql-ws, a subscription over graphql-ws until
    // its first event, and a query over Server-Sent Events.
    const graphqlUrl = `http://127.0.0.1:${gateway.ports.http}/graphql`;
    for (let i = 0; i < 2; i++) assert.equal((await postGraphQL(graphqlUrl, 'query Ping { ping }')).status, 200);
    const client = createClient({ url: graphqlUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    started.push(() => client.dispose());
    for await (const result of client.iterate({ query: 'query WsPing { ping }' })) assert.deepEqual(result.data, { ping: 'pong' });
    const ticks = client.iterate({ query: TICKS, variables: { topic: 'a' } });
    const first = ticks.next();
    await waitFor(() => subgraph.listeners('a') === 1, 20_000, 'the upstream subscription is open');
    subgraph.tick('a', 1);
    assert.deepEqual((await first).value?.data, { ticks: { n: 1, topic: 'a' } });
    await ticks.return?.();
    const sse = await fetch(`${graphqlUrl}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'query SsePing { ping }' }),
    });
    assert.match(await sse.text(), /"ping":"pong"/);
  });

  test('the gateway records each operation it served, over every transport, with what it used and how often', async () => {
    const usage = await usageOf(opsUrl);
    const byName = new Map(usage.operations.map((o) => [o.name, o]));
    assert.deepEqual([...byName.keys()].sort(), ['Ping', 'SsePing', 'Ticks', 'WsPing']);
    assert.deepEqual([byName.get('Ping')?.count, byName.get('Ping')?.fields, byName.get('Ping')?.type], [2, ['Query.ping'], 'query']);
    assert.equal(byName.get('WsPing')?.count, 1);
    assert.equal(byName.get('SsePing')?.count, 1);
    const ticks = byName.get('Ticks');
    assert.deepEqual(
      [ticks?.type, ticks?.count, ticks?.fields, ticks?.arguments],
      ['subscription', 1, ['Subscription.ticks', 'Tick.n', 'Tick.topic'], ['Subscription.ticks(topic:)']],
    );
    assert.equal(usage.operations[0]?.name, 'SsePing', 'most recently seen first');
  });

  test('the ops listener serves the supergraph as the gateway loaded it, its SHA-256 as the ETag', async () => {
    const text = await readFile(supergraph, 'utf8');
    const response = await fetch(`${opsUrl}/supergraph`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), text);
    const etag = response.headers.get('etag');
    assert.equal(etag, `"${createHash('sha256').update(text).digest('hex')}"`);
    assert.equal((await fetch(`${opsUrl}/supergraph`, { headers: { 'if-none-match': etag! } })).status, 304);
  });

  test('removing a field a served operation used is breaking, and names that operation', async () => {
    const run = await interchange(['check', '--gateway', opsUrl, '--registry', registries.removed]);
    assert.equal(run.code, 1, run.stderr);
    const ticks = (await usageOf(opsUrl)).operations.find((o) => o.name === 'Ticks')!;
    assert.match(
      run.stdout,
      new RegExp(`^Compared with the gateway at ${opsUrl} \\(supergraph [0-9a-f]{12}\\); usage record of 4 served operations\\.`),
    );
    assert.match(run.stdout, /^Breaking \(1\)\n {2}Tick\.topic {2}Tick\.topic was removed: operations that use it fail validation$/m);
    assert.match(
      run.stdout,
      new RegExp(
        `^ {4}breaks subscription Ticks \\[${ticks.hash.slice(0, 12)}\\]: 1 request, last seen ${ticks.lastSeen.replaceAll('.', '\\.')}$`,
        'm',
      ),
    );
    assert.doesNotMatch(run.stdout, /Ping/, 'the queries do not use Tick.topic');
    assert.match(run.stdout, /^1 breaking \(1 served operation would break\), 0 dangerous, 0 safe\.\nCheck failed: breaking changes/m);
  });

  test('adding an optional field is safe', async () => {
    const run = await interchange(['check', '--gateway', opsUrl, '--registry', registries.added]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Safe \(1\)\n {2}Tick\.label {2}Tick\.label was added: operations get only the fields they select$/m);
    assert.doesNotMatch(run.stdout, /Breaking|Dangerous/);
    assert.match(run.stdout, /^0 breaking, 0 dangerous, 1 safe\.$/m);
  });

  test('a breaking change no served operation uses is still breaking, says so, and passes with --allow-breaking', async () => {
    // A usage record of the queries alone, none of which uses Tick.topic.
    const usage = await usageOf(opsUrl);
    const queries = join(dir, 'queries.json');
    await writeFile(queries, JSON.stringify({ ...usage, operations: usage.operations.filter((o) => o.type === 'query') }));
    const args = ['check', '--gateway', opsUrl, '--usage', queries, '--registry', registries.removed];
    const run = await interchange(args);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^ {2}Tick\.topic .*\n {4}no served operation uses it$/m);
    const allowed = await interchange([...args, '--allow-breaking', '--json']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const report = JSON.parse(allowed.stdout) as {
      passed: boolean;
      changes: { severity: string; coordinate: string; operations: unknown[] }[];
    };
    assert.equal(report.passed, true);
    assert.deepEqual(report.changes, [
      {
        severity: 'breaking',
        kind: 'FIELD_REMOVED',
        coordinate: 'Tick.topic',
        target: { type: 'Tick', field: 'topic' },
        message: 'Tick.topic was removed',
        why: 'operations that use it fail validation',
        operations: [],
      },
    ]);
  });

  test('says why it cannot check, with exit code 2: a gateway that does not answer, --gateway with --against', async () => {
    const refusing = await refusingPort();
    started.push(() => refusing.close());
    const unreachable = await interchange(['check', '--gateway', `http://127.0.0.1:${refusing.port}`, '--registry', registries.served]);
    assert.equal(unreachable.code, 2);
    assert.match(
      unreachable.stderr,
      new RegExp(`^check: cannot reach http://127\\.0\\.0\\.1:${refusing.port}/supergraph: ECONN(REFUSED|RESET)$`, 'm'),
    );
    const both = await interchange(['check', '--gateway', opsUrl, '--against', supergraph]);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /option '--gateway <url>' cannot be used with option '--against <file>'/);
  });

  test('the record is written on a graceful stop, and a new gateway on the same DATA_DIR goes on from it', async () => {
    const served = await usageOf(opsUrl);
    assert.equal(await gateway.stop(), 0);
    const written = usageFileSchema.parse(JSON.parse(await readFile(join(dataDir, 'gateway-usage.json'), 'utf8')));
    assert.deepEqual(written, served);
    gateway = await startGateway(supergraph, dataDir);
    assert.deepEqual(await usageOf(`http://127.0.0.1:${gateway.ports.ops}`), served);
  });
});
