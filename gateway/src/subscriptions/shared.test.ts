/**
 * The shared subscription against a fake upstream and a clock that never waits: every recovery
 * path, replays of resuming clients, and how positions advance, deterministically.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { createLogger } from '../../../lib/logger.ts';
import { FATAL_CLOSE_CODES } from '../../../lib/resumable.ts';
import { FakeClock, FakeUpstream, ended, take } from '../../../test/support/fake-upstream.ts';
import { quietPeriod, waitFor } from '../../../test/support/wait.ts';
import { SharedSubscription, type SharedOptions } from './shared.ts';
import { UpstreamBacklogFull } from './upstream.ts';

const log = createLogger('test', 'silent');

function setUp(options: Partial<SharedOptions> = {}) {
  const upstream = new FakeUpstream();
  const clock = new FakeClock();
  const state = { closed: 0, resolved: 0 };
  const shared = new SharedSubscription({
    key: 'k',
    open: upstream.open,
    resumeArgument: 'after',
    resolve: async (event) => {
      state.resolved++;
      if ((event.data as { fail?: boolean }).fail) throw new Error('an entity fetch failed');
      return { data: event.data };
    },
    subscriberCapacity: 100,
    lagThresholdEvents: 10,
    policy: { attempts: 5, budgetMs: 60_000 },
    clock,
    log,
    serviceName: 'orders',
    onClose: () => state.closed++,
    ...options,
  });
  return { upstream, clock, shared, state };
}

const n = (result: ExecutionResult): unknown => (result.data as { n?: unknown } | null | undefined)?.n;
const code = (result: ExecutionResult): unknown => result.errors?.[0]?.extensions['code'];

describe('a shared subscription of a resumable field', () => {
  test('opens its upstream live with extensions.resumable { after: null }', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    assert.deepEqual(live.resume, { after: null });
    live.checkpoint('p0').event({ n: 1 }, 'p1');
    assert.deepEqual(await take(client, 1), [{ data: { n: 1 } }]);
    await client.return();
  });

  test('reopens from the newest position after the socket is lost; the client notices nothing but RECONNECTING', async () => {
    const { upstream, clock, shared } = setUp();
    const client = shared.join();
    const watcher = shared.join({ status: true });
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1').event({ n: 2 }, 'p2').fail({ code: 1006, reason: '' });
    const reopened = await upstream.opened(2);
    assert.deepEqual(reopened.resume, { after: 'p2', until: undefined });
    assert.equal(clock.sleeps.length, 1, 'one back-off before reopening');
    const before = await take(watcher, 4);
    reopened.checkpoint('p2').event({ n: 3 }, 'p3');
    assert.deepEqual((await take(client, 3)).map(n), [1, 2, 3]);
    const statuses = [...before, ...(await take(watcher, 2))].filter((r) => !r.data).map((r) => r.extensions?.['stream']);
    assert.deepEqual(statuses, [
      { lagging: false, position: 'p0' },
      { lagging: true, reason: 'RECONNECTING', position: 'p2' },
      { lagging: false, position: 'p2' },
    ]);
    assert.equal(upstream.streams.length, 2);
    await Promise.all([client.return(), watcher.return()]);
  });

  for (const [what, failure] of [
    ["the gateway's own backlog overflowing", new UpstreamBacklogFull('orders', 10)],
    ["the subgraph's SUBSCRIBER_TOO_SLOW", [{ message: 'too slow', extensions: { code: 'SUBSCRIBER_TOO_SLOW' } }]],
    ['EVENT_LOG_UNAVAILABLE', [{ message: 'log down', extensions: { code: 'EVENT_LOG_UNAVAILABLE' } }]],
    ['a handshake that timed out', new Error('Opening handshake has timed out')],
  ] as const) {
    test(`reopens from its position after ${what}, without a gap or a duplicate`, async () => {
      const { upstream, shared } = setUp();
      const client = shared.join();
      const live = await upstream.opened(1);
      live.checkpoint('p0').event({ n: 1 }, 'p1').fail(failure);
      const reopened = await upstream.opened(2);
      assert.deepEqual(reopened.resume, { after: 'p1', until: undefined });
      reopened.checkpoint('p1').event({ n: 2 }, 'p2');
      assert.deepEqual((await take(client, 2)).map(n), [1, 2]);
      await client.return();
    });
  }

  for (const code of ['SUBSCRIBER_TOO_SLOW', 'EVENT_LOG_UNAVAILABLE']) {
    test(`reopens after the subgraph ends the stream with ${code} as the orders subgraph sends it (data null, its position, then complete)`, async () => {
      const { upstream, shared } = setUp();
      const client = shared.join();
      const live = await upstream.opened(1);
      live.checkpoint('p0').event({ n: 1 }, 'p1').endWithError(code, 'p1');
      const reopened = await upstream.opened(2);
      assert.deepEqual(reopened.resume, { after: 'p1', until: undefined });
      reopened.checkpoint('p1').event({ n: 2 }, 'p2');
      assert.deepEqual(await take(client, 2), [{ data: { n: 1 } }, { data: { n: 2 } }], 'the error is not passed on');
      await client.return();
    });
  }

  test('reopens from the position an interrupting result carries when it is newer than the last one delivered', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    (await upstream.opened(1)).checkpoint('p0').event({ n: 1 }, 'p1').endWithError('SUBSCRIBER_TOO_SLOW', 'p4');
    assert.deepEqual((await upstream.opened(2)).resume, { after: 'p4', until: undefined });
    await client.return();
  });

  test("reopens after the subgraph's SUBSCRIBER_TOO_SLOW sent as a result without data or position, then complete", async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1');
    live.send({ errors: [{ message: 'too slow', extensions: { code: 'SUBSCRIBER_TOO_SLOW' } }] as never }).complete();
    const reopened = await upstream.opened(2);
    assert.deepEqual(reopened.resume, { after: 'p1', until: undefined });
    reopened.event({ n: 2 }, 'p2');
    assert.deepEqual((await take(client, 2)).map(n), [1, 2], 'the error is not passed on');
    await client.return();
  });

  for (const closeCode of FATAL_CLOSE_CODES) {
    test(`ends its clients with SUBGRAPH_UNAVAILABLE on close code ${closeCode}, without retrying`, async () => {
      const { upstream, shared, state } = setUp();
      const client = shared.join();
      (await upstream.opened(1)).checkpoint('p0').fail({ code: closeCode, reason: 'refused' });
      const [result] = await take(client, 1);
      assert.equal(code(result!), 'SUBGRAPH_UNAVAILABLE');
      assert.equal(result!.errors?.[0]?.extensions['closeCode'], closeCode);
      assert.match(result!.errors?.[0]?.message ?? '', new RegExp(`closed it with code ${closeCode} \\(refused\\)`));
      assert.ok(await ended(client));
      assert.equal(upstream.streams.length, 1, 'not reopened');
      assert.equal(state.closed, 1);
    });
  }

  for (const errorCode of ['CURSOR_EXPIRED', 'INVALID_CURSOR']) {
    test(`ends its clients with ${errorCode} from the subgraph`, async () => {
      const { upstream, shared } = setUp();
      const client = shared.join();
      (await upstream.opened(1)).checkpoint('p0').fail([{ message: 'gone', extensions: { code: errorCode } }]);
      assert.equal(code((await take(client, 1))[0]!), errorCode);
      assert.ok(await ended(client));
      assert.equal(upstream.streams.length, 1);
    });
  }

  test('gives up with SUBGRAPH_UNAVAILABLE once the attempts are spent, the back-off growing', async () => {
    const { upstream, clock, shared } = setUp({ policy: { attempts: 3, budgetMs: 60_000 } });
    const client = shared.join();
    for (let i = 1; i <= 4; i++) (await upstream.opened(i)).fail({ code: 1006, reason: '' });
    const [result] = await take(client, 1);
    assert.equal(code(result!), 'SUBGRAPH_UNAVAILABLE');
    assert.ok(await ended(client));
    assert.equal(upstream.streams.length, 4);
    assert.deepEqual(clock.sleeps, [187.5, 375, 750], 'jittered exponential back-off (random() = 0.5)');
  });

  test('gives up once the time budget is spent', async () => {
    const { upstream, shared } = setUp({ policy: { attempts: 100, budgetMs: 1_000, baseDelayMs: 400 } });
    const client = shared.join();
    for (let i = 1; i <= 3; i++) (await upstream.opened(i)).fail({ code: 1006, reason: '' });
    assert.equal(code((await take(client, 1))[0]!), 'SUBGRAPH_UNAVAILABLE');
    assert.equal(upstream.streams.length, 3, '300 ms + 600 ms slept, then the budget of 1 s is spent');
  });

  test('a message from the reopened stream restores the attempts', async () => {
    const { upstream, shared } = setUp({ policy: { attempts: 1, budgetMs: 60_000 } });
    const client = shared.join();
    (await upstream.opened(1)).checkpoint('p0').fail({ code: 1006, reason: '' });
    (await upstream.opened(2)).checkpoint('p0').fail({ code: 1006, reason: '' });
    (await upstream.opened(3)).checkpoint('p0').event({ n: 1 }, 'p1');
    assert.deepEqual((await take(client, 1)).map(n), [1]);
    await client.return();
  });

  test('checkpoints move the position: a filtered stream with no event reopens from its newest checkpoint', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1').checkpoint('p7').fail({ code: 1006, reason: '' });
    assert.deepEqual((await upstream.opened(2)).resume, { after: 'p7', until: undefined });
    await client.return();
  });

  test('a stream interrupted before its start checkpoint reopens live', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    (await upstream.opened(1)).fail({ code: 1006, reason: '' });
    assert.deepEqual((await upstream.opened(2)).resume, { after: null, until: undefined });
    await client.return();
  });

  test('an event whose resolution fails reaches clients as an error and still advances the position', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1').event({ n: 2, fail: true }, 'p2').fail({ code: 1006, reason: '' });
    const results = await take(client, 2);
    assert.equal(code(results[1]!), 'INTERNAL_SERVER_ERROR');
    assert.deepEqual((await upstream.opened(2)).resume, { after: 'p2', until: undefined });
    await client.return();
  });

  test("a slow client's SUBSCRIBER_TOO_SLOW names the last position delivered to it, a checkpoint's included", async () => {
    const { upstream, shared } = setUp({ subscriberCapacity: 2 });
    const slow = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1');
    await take(slow, 1);
    live.checkpoint('p3');
    await waitFor(() => slow.position === 'p3', 5_000, 'the checkpoint never reached the client', 1);
    live.event({ n: 2 }, 'p4').event({ n: 3 }, 'p5').event({ n: 4 }, 'p6');
    await waitFor(() => slow.done, 5_000, 'the slow client was never cut off', 1);
    const [result] = await take(slow, 1);
    assert.equal(code(result!), 'SUBSCRIBER_TOO_SLOW');
    assert.equal(result!.errors?.[0]?.extensions['lastDeliveredCursor'], 'p3');
    assert.match(result!.errors?.[0]?.message ?? '', /resume with after: "p3"/);
  });

  test('results carry extensions.stream while the source lags, and status-only results tell of the change', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const watcher = shared.join({ status: true });
    const live = await upstream.opened(1);
    live.checkpoint('p0');
    await take(watcher, 1);
    live.checkpoint('p1', { events: 12, stale: false }).event({ n: 1 }, 'p2').checkpoint('p2', { events: 0, stale: false });
    live.event({ n: 2 }, 'p3');
    const [lagging, fresh] = await take(client, 2);
    assert.deepEqual(lagging!.extensions, { stream: { lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: 12, position: 'p2' } });
    assert.equal(fresh!.extensions, undefined);
    const statuses = (await take(watcher, 4)).filter((r) => !r.data).map((r) => r.extensions?.['stream']);
    assert.deepEqual(statuses, [
      { lagging: true, reason: 'PROJECTION_BEHIND', behindEvents: 12, position: 'p1' },
      { lagging: false, position: 'p2' },
    ]);
    await Promise.all([client.return(), watcher.return()]);
  });

  test('a lag below the threshold is not lagging: a few records in flight are normal', async () => {
    const { upstream, shared } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0', { events: 9, stale: false }).event({ n: 1 }, 'p1');
    const [result] = await take(client, 1);
    assert.equal(result!.extensions, undefined);
    assert.deepEqual(shared.status, { lagging: false });
    live.checkpoint('p1', { events: 10, stale: false });
    await waitFor(() => shared.status.lagging, 5_000, 'the lag reached the threshold');
    await client.return();
  });

  test('the last subscriber leaving releases the upstream', async () => {
    const { upstream, shared, state } = setUp();
    const client = shared.join();
    const live = await upstream.opened(1);
    await client.return();
    assert.ok(live.released);
    assert.equal(state.closed, 1);
  });
});

describe('a client that resumes', () => {
  test('gets a private replay up to the shared position at its join, then the shared results: no gap, no duplicate', async () => {
    const { upstream, shared, state } = setUp();
    const first = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 1 }, 'p1').event({ n: 2 }, 'p2');
    await take(first, 2);
    const resumer = shared.join({ after: 'p0' });
    const replay = await upstream.opened(2);
    assert.deepEqual(replay.resume, { after: 'p0', until: 'p2' });
    live.event({ n: 3 }, 'p3'); // held back until the replay is done
    await take(first, 1);
    replay.checkpoint('p0').event({ n: 1 }, 'p1').event({ n: 2 }, 'p2').complete();
    assert.deepEqual((await take(resumer, 3)).map(n), [1, 2, 3]);
    live.event({ n: 4 }, 'p4');
    assert.deepEqual((await take(resumer, 1)).map(n), [4]);
    assert.equal(state.resolved, 4 + 2, 'live events resolved once; replayed ones once for the resumer');
    await Promise.all([first.return(), resumer.return()]);
  });

  test('joining before the start checkpoint: the replay waits for it and ends there', async () => {
    const { upstream, shared } = setUp();
    const resumer = shared.join({ after: 'p5' });
    const live = await upstream.opened(1);
    assert.deepEqual(live.resume, { after: null }, 'the shared stream is opened live, whatever the first client resumes from');
    live.checkpoint('p9').event({ n: 10 }, 'p10');
    const replay = await upstream.opened(2);
    assert.deepEqual(replay.resume, { after: 'p5', until: 'p9' });
    replay.event({ n: 6 }, 'p6').checkpoint('p9').complete();
    assert.deepEqual((await take(resumer, 2)).map(n), [6, 10]);
    await resumer.return();
  });

  test('resuming from the shared position itself needs no replay', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p0').event({ n: 1 }, 'p1');
    await take(first, 1);
    const resumer = shared.join({ after: 'p1' });
    (await upstream.opened(1)).event({ n: 2 }, 'p2');
    assert.deepEqual((await take(resumer, 1)).map(n), [2]);
    assert.equal(upstream.streams.length, 1);
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a replay interrupted by a lost socket resumes from its own position, bounded as before', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p0').event({ n: 3 }, 'p3');
    await take(first, 1);
    const resumer = shared.join({ after: 'p0' });
    (await upstream.opened(2)).event({ n: 1 }, 'p1').fail({ code: 1006, reason: '' });
    const reopened = await upstream.opened(3);
    assert.deepEqual(reopened.resume, { after: 'p1', until: 'p3' });
    reopened.event({ n: 2 }, 'p2').event({ n: 3 }, 'p3').complete();
    assert.deepEqual((await take(resumer, 3)).map(n), [1, 2, 3]);
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a replay the subgraph ends with SUBSCRIBER_TOO_SLOW is reopened from its position, bounded as before', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p0').event({ n: 3 }, 'p3');
    await take(first, 1);
    const resumer = shared.join({ after: 'p0' });
    (await upstream.opened(2)).checkpoint('p0').event({ n: 1 }, 'p1').endWithError('SUBSCRIBER_TOO_SLOW', 'p1');
    const reopened = await upstream.opened(3);
    assert.deepEqual(reopened.resume, { after: 'p1', until: 'p3' });
    reopened.checkpoint('p1').event({ n: 2 }, 'p2').event({ n: 3 }, 'p3').complete();
    live.event({ n: 4 }, 'p4');
    assert.deepEqual(
      await take(resumer, 4),
      [1, 2, 3, 4].map((i) => ({ data: { n: i } })),
      'no error, no gap, no duplicate',
    );
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a client ahead of the shared stream: its held shared results are dropped and its replay goes on live from its final position', async () => {
    const { upstream, shared, state } = setUp();
    const first = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p5');
    // Its position came from a gateway that had read further: the replay's final position keeps it there.
    const resumer = shared.join({ after: 'q7' });
    const replay = await upstream.opened(2);
    assert.deepEqual(replay.resume, { after: 'q7', until: 'p5' });
    live.event({ n: 6 }, 'p6'); // the resumer may have it already: it must not get it from the shared stream
    await take(first, 1);
    replay.checkpoint('q7').complete();
    const own = await upstream.opened(3);
    assert.deepEqual(own.resume, { after: 'q7' }, 'a private live stream from the final position, no until');
    live.event({ n: 8 }, 'p8');
    own.checkpoint('q7').event({ n: 8 }, 'q8');
    await take(first, 1);
    assert.deepEqual(await take(resumer, 1), [{ data: { n: 8 } }], 'neither the held n: 6 nor the shared n: 8');
    assert.equal(resumer.position, 'q8', 'its position never goes back to the shared one');
    own.event({ n: 9 }, 'q9').fail({ code: 1006, reason: '' });
    assert.deepEqual((await upstream.opened(4)).resume, { after: 'q9', until: undefined }, 'it recovers like any stream');
    assert.equal(state.resolved, 2 + 2, 'resolved per event: the shared ones once, its own for it');
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a replay is joined to the shared stream only when its final position equals until', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p5');
    const resumer = shared.join({ after: 'p1' });
    const replay = await upstream.opened(2);
    live.event({ n: 6 }, 'p6');
    await take(first, 1);
    replay.checkpoint('p1').event({ n: 3 }, 'p3').checkpoint('p5').complete();
    live.event({ n: 7 }, 'p7');
    assert.deepEqual((await take(resumer, 3)).map(n), [3, 6, 7]);
    assert.equal(upstream.streams.length, 2, 'no private live stream');
    await Promise.all([first.return(), resumer.return()]);
  });

  for (const errorCode of ['CURSOR_EXPIRED', 'INVALID_CURSOR']) {
    test(`a replay failing with ${errorCode} ends that client only`, async () => {
      const { upstream, shared } = setUp();
      const first = shared.join();
      const live = await upstream.opened(1);
      live.checkpoint('p0');
      const resumer = shared.join({ after: 'old' });
      (await upstream.opened(2)).fail([{ message: 'gone', extensions: { code: errorCode } }]);
      assert.equal(code((await take(resumer, 1))[0]!), errorCode);
      assert.ok(await ended(resumer));
      live.event({ n: 1 }, 'p1');
      assert.deepEqual((await take(first, 1)).map(n), [1]);
      await first.return();
    });
  }

  test('a replay refused with a result without data (then complete) ends that client with the error', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p0');
    const resumer = shared.join({ after: 'bad' });
    (await upstream.opened(2)).send({ errors: [{ message: 'not a cursor', extensions: { code: 'INVALID_CURSOR' } }] as never }).complete();
    const [result] = await take(resumer, 1);
    assert.equal(code(result!), 'INVALID_CURSOR');
    assert.equal(result!.errors?.[0]?.message, 'not a cursor');
    assert.ok(await ended(resumer));
    await first.return();
  });

  test('a replay longer than the buffer is paced by the client, not cut off', async () => {
    const { upstream, shared } = setUp({ subscriberCapacity: 2 });
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p9');
    const resumer = shared.join({ after: 'p0' });
    const replay = await upstream.opened(2);
    for (let i = 1; i <= 9; i++) replay.event({ n: i }, `p${i}`);
    replay.complete();
    await waitFor(() => resumer.pending >= 2, 5_000, 'the replay never filled the buffer', 1);
    assert.deepEqual((await take(resumer, 9)).map(n), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a replay is read only as fast as the client takes it: a client that does not read holds a bounded buffer', async () => {
    const { upstream, shared } = setUp({ subscriberCapacity: 2 });
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p100');
    const resumer = shared.join({ after: 'p0' });
    const replay = await upstream.opened(2);
    for (let i = 1; i <= 100; i++) replay.event({ n: i }, `p${i}`);
    replay.complete();
    await waitFor(() => resumer.pending >= 2, 5_000, 'the replay never filled the buffer', 1);
    await quietPeriod(50);
    assert.ok(resumer.pending <= 2, `at most the capacity waits, not ${resumer.pending}`);
    assert.ok(replay.unread > 0, 'the rest of the replay waits upstream');
    assert.deepEqual(
      (await take(resumer, 100)).map(n),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a shared event during a replay longer than the buffer is held, not counted with the replay', async () => {
    const { upstream, shared } = setUp({ subscriberCapacity: 2 });
    const first = shared.join();
    const live = await upstream.opened(1);
    live.checkpoint('p5');
    const resumer = shared.join({ after: 'p0' });
    const replay = await upstream.opened(2);
    for (let i = 1; i <= 5; i++) replay.event({ n: i }, `p${i}`);
    replay.complete();
    await waitFor(() => resumer.pending >= 2, 5_000, 'the replay never filled the buffer', 1);
    live.event({ n: 6 }, 'p6').event({ n: 7 }, 'p7');
    await take(first, 2);
    assert.deepEqual(
      await take(resumer, 7),
      [1, 2, 3, 4, 5, 6, 7].map((i) => ({ data: { n: i } })),
      'not cut off',
    );
    await Promise.all([first.return(), resumer.return()]);
  });

  test("a replay whose upstream backlog overflows (its client reads slowly) is reopened from the replay's position", async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p3');
    const resumer = shared.join({ after: 'p0' });
    (await upstream.opened(2)).event({ n: 1 }, 'p1').fail(new UpstreamBacklogFull('orders', 10));
    const reopened = await upstream.opened(3);
    assert.deepEqual(reopened.resume, { after: 'p1', until: 'p3' });
    reopened.event({ n: 2 }, 'p2').event({ n: 3 }, 'p3').complete();
    assert.deepEqual((await take(resumer, 3)).map(n), [1, 2, 3]);
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a replay interrupted while its client has no room is reopened only once the client reads', async () => {
    const { upstream, shared } = setUp({ subscriberCapacity: 2 });
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p9');
    const resumer = shared.join({ after: 'p0' });
    const replay = await upstream.opened(2);
    replay.event({ n: 1 }, 'p1').event({ n: 2 }, 'p2').fail(new UpstreamBacklogFull('orders', 10));
    await waitFor(() => resumer.pending === 2, 5_000, 'the replay never filled the buffer', 1);
    await quietPeriod(50);
    assert.equal(upstream.streams.length, 2, 'not reopened while the client has no room');
    await take(resumer, 1);
    const reopened = await upstream.opened(3);
    assert.deepEqual(reopened.resume, { after: 'p2', until: 'p9' });
    await Promise.all([first.return(), resumer.return()]);
  });

  test('a client leaving during its replay releases the replay', async () => {
    const { upstream, shared } = setUp();
    const first = shared.join();
    (await upstream.opened(1)).checkpoint('p0');
    const resumer = shared.join({ after: 'old' });
    const replay = await upstream.opened(2);
    await resumer.return();
    assert.ok(replay.released);
    await first.return();
  });
});

describe('a shared subscription of a field without positions', () => {
  test('passes events through and reopens live after a lost socket', async () => {
    const { upstream, shared } = setUp({ resumeArgument: undefined });
    const client = shared.join({ after: 'ignored' });
    const live = await upstream.opened(1);
    assert.equal(live.resume, undefined, 'no extensions.resumable');
    live.event({ n: 1 }).fail({ code: 1006, reason: '' });
    const reopened = await upstream.opened(2);
    assert.equal(reopened.resume, undefined);
    reopened.event({ n: 2 });
    assert.deepEqual((await take(client, 2)).map(n), [1, 2]);
    await client.return();
  });

  test('ends its clients with SUBSCRIBER_TOO_SLOW when events were lost (it cannot resume)', async () => {
    const { upstream, shared } = setUp({ resumeArgument: undefined });
    const client = shared.join();
    (await upstream.opened(1)).event({ n: 1 }).fail(new UpstreamBacklogFull('orders', 10));
    const results = await take(client, 2);
    assert.equal(code(results[1]!), 'SUBSCRIBER_TOO_SLOW');
    assert.equal(results[1]!.errors?.[0]?.extensions['lastDeliveredCursor'], null);
    assert.equal(upstream.streams.length, 1);
  });
});
