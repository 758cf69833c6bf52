/**
 * Token expiry on Server-Sent Events, as on WebSocket (closed with 4401): a subscription over SSE
 * lasts as long as the token of the request that started it, then gets a last result with
 * UNAUTHENTICATED and completes, and its upstream subscription is released. In the distinct
 * connections mode the response ends; in the single connection mode only that operation does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DevAuth } from '../../scripts/dev-auth.ts';
import { EventStream } from '../support/sse.ts';
import { waitFor } from '../support/wait.ts';
import {
  edgeKeys,
  type EdgeKeys,
  TICKS,
  openStream,
  send,
  startEdgeGateway,
  startTicksSubgraph,
  type EdgeGateway,
  type TicksSubgraph,
} from './support.ts';

const TEST = { timeout: 120_000 };
/** Long enough for the subscription to start and get an event on a loaded machine; the test waits for it. */
const LIFETIME_S = 6;
const TOKEN_HEADER = 'x-graphql-event-stream-token';

interface Payload {
  data?: { ticks?: { n: number } } | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

describe('token expiry over Server-Sent Events', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;
  let auth: DevAuth;
  let keys: EdgeKeys | undefined;
  let streamUrl: string;
  const bearer = async (subject: string, expiresInSeconds: number) => ({
    authorization: `Bearer ${await auth.token({ subject, expiresInSeconds })}`,
  });

  before(async () => {
    keys = await edgeKeys();
    auth = keys.auth;
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, keys.env);
    streamUrl = `${gateway.baseUrl}/graphql/stream`;
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
    await keys?.remove();
  });

  test(
    'distinct connections: the subscription delivers until the token expires, then ends with UNAUTHENTICATED; one with a valid token goes on',
    TEST,
    async (t) => {
      const body = { query: TICKS, variables: { topic: 'distinct' } };
      const expiring = await EventStream.post(streamUrl, body, await bearer('expiring', LIFETIME_S));
      const lasting = await EventStream.post(streamUrl, body, await bearer('lasting', 3_600));
      t.after(() => Promise.all([expiring.close(), lasting.close()]));
      assert.equal(expiring.response.status, 200);
      await waitFor(() => subgraph.listeners('distinct') === 2, 30_000, 'the subscriptions never reached the subgraph');
      subgraph.tick('distinct', 1);

      await expiring.untilEnded(30_000);
      // The tick came before the expiry unless the machine was slower than LIFETIME_S: either way,
      // whatever came before is an event, and the last result is the expiry.
      const results = expiring.nexts<Payload['data']>() as Payload[];
      const ended = results.at(-1);
      assert.deepEqual(
        results.slice(0, -1).map((r) => r.data?.ticks?.n),
        results.length === 2 ? [1] : [],
      );
      assert.deepEqual(ended?.errors?.[0], { message: 'the token has expired', extensions: { code: 'UNAUTHENTICATED' } });
      assert.equal(expiring.events.at(-1)?.event, 'complete');
      await waitFor(() => subgraph.listeners('distinct') === 1, 30_000, 'the expired subscription was not released upstream');

      subgraph.tick('distinct', 2);
      await waitFor(() => lasting.nexts().length === 2, 30_000, 'the subscription with a valid token did not go on');
      assert.equal(lasting.finished, false);
    },
  );

  test(
    'single connection: the operation sent with the expiring token ends with UNAUTHENTICATED; the stream stays open',
    TEST,
    async (t) => {
      const lasting = await bearer('reserver', 3_600);
      const token = (await send(streamUrl, { from: '127.0.3.1', method: 'PUT', headers: lasting })).text;
      const stream = await openStream(`${streamUrl}?token=${token}`, { from: '127.0.3.1', headers: lasting });
      t.after(() => stream.close());
      assert.equal(stream.status, 200);
      const posted = await send(streamUrl, {
        from: '127.0.3.1',
        headers: { [TOKEN_HEADER]: token, ...(await bearer('expiring-op', LIFETIME_S)) },
        body: { query: TICKS, variables: { topic: 'single' }, extensions: { operationId: 'op' } },
      });
      assert.equal(posted.status, 202, posted.text);
      await waitFor(() => subgraph.listeners('single') === 1, 30_000, 'the subscription never reached the subgraph');

      await waitFor(() => stream.text().includes('event: complete'), 30_000, 'the operation did not end when its token expired');
      const next = /event: next\ndata: (.*)\n/.exec(stream.text());
      const payload = JSON.parse(next?.[1] ?? '{}') as { id?: string; payload?: Payload };
      assert.equal(payload.id, 'op');
      assert.equal(payload.payload?.errors?.[0]?.extensions?.['code'], 'UNAUTHENTICATED');
      await waitFor(() => subgraph.listeners('single') === 0, 30_000, 'the expired subscription was not released upstream');
      // The stream itself stays open: another operation on it runs and delivers.
      const again = await send(streamUrl, {
        from: '127.0.3.1',
        headers: { [TOKEN_HEADER]: token, ...lasting },
        body: { query: TICKS, variables: { topic: 'single' }, extensions: { operationId: 'again' } },
      });
      assert.equal(again.status, 202, again.text);
      await waitFor(() => subgraph.listeners('single') === 1, 30_000, 'the second subscription never reached the subgraph');
      subgraph.tick('single', 7);
      await waitFor(() => /"id":"again".*"n":7/.test(stream.text()), 30_000, 'the stream did not deliver after the expiry');
    },
  );
});
