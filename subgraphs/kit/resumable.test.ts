import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, parse, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { withTimeout } from '../../test/support/wait.ts';
import { resumableCheckpoint, resumableEvent, resumeRequest, subscribeResumable } from './resumable.ts';

/** A source stream driven by the test: items pushed are taken in order; `returned` says whether it was released. */
class Source implements AsyncIterableIterator<unknown> {
  returned = false;
  private readonly items: unknown[] = [];
  private readonly takers: ((result: IteratorResult<unknown>) => void)[] = [];

  push(item: unknown): void {
    const taker = this.takers.shift();
    if (taker) taker({ done: false, value: item });
    else this.items.push(item);
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.items.length > 0) return Promise.resolve({ done: false, value: this.items.shift() });
    if (this.returned) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  return(): Promise<IteratorResult<unknown>> {
    this.returned = true;
    for (const taker of this.takers.splice(0)) taker({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

function setUp(options: { refuse?: Error } = {}) {
  const source = new Source();
  const schema: GraphQLSchema = buildSchema(`
    type Query { ok: Boolean }
    type Tick { n: Int!, label: String! }
    type Subscription { ticks(after: String): Tick! }
  `);
  const field = schema.getSubscriptionType()!.getFields()['ticks']!;
  field.subscribe = () => {
    if (options.refuse) throw options.refuse;
    return source;
  };
  field.resolve = (value: { n: number }) => ({ n: value.n, label: `tick ${value.n}` });
  const args: ExecutionArgs = { schema, document: parse('subscription { ticks { n label } }') };
  return { source, args };
}

async function open(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult>> {
  const stream = await subscribeResumable(args);
  assert.ok(Symbol.asyncIterator in stream, `expected a stream, got ${JSON.stringify(stream)}`);
  return stream;
}

const take = async (stream: AsyncIterator<ExecutionResult>) => {
  const result = await withTimeout(stream.next(), 5_000, 'no result came');
  assert.equal(result.done, false);
  return JSON.parse(JSON.stringify(result.value)) as unknown;
};

describe('resumeRequest', () => {
  test('extensions.resumable wins over the resume argument', () => {
    assert.deepEqual(resumeRequest({ resumable: { after: 'p1', until: 'p2' } }, 'arg'), {
      after: 'p1',
      until: 'p2',
      viaExtension: true,
    });
    assert.deepEqual(resumeRequest({ resumable: { after: null } }, 'arg'), { after: null, until: undefined, viaExtension: true });
  });

  test('without the extension, the argument says where to start (absent or null: live)', () => {
    assert.deepEqual(resumeRequest({}, 'arg'), { after: 'arg', viaExtension: false });
    assert.deepEqual(resumeRequest({ other: 1 }, null), { after: null, viaExtension: false });
    assert.deepEqual(resumeRequest({}, undefined), { after: null, viaExtension: false });
  });

  for (const [name, value] of [
    ['not an object', 'p1'],
    ['an array', ['p1']],
    ['missing `after`', {}],
    ['a number as `after`', { after: 5 }],
    ['a non-string `until`', { after: null, until: 7 }],
  ] as const) {
    test(`refuses an extension that is ${name} with BAD_REQUEST`, () => {
      assert.throws(
        () => resumeRequest({ resumable: value }, 'arg'),
        (err: unknown) =>
          err instanceof InterchangeError && err.code === ErrorCode.BAD_REQUEST && /extensions\.resumable/.test(err.message),
      );
    });
  }
});

describe('subscribeResumable', () => {
  test('executes an event with its value and adds its position (and lag) in extensions.resumable', async () => {
    const { source, args } = setUp();
    const stream = await open(args);
    source.push(resumableEvent({ n: 1 }, 'P1'));
    source.push(resumableEvent({ n: 2 }, 'P2', { events: 3, stale: false }));
    assert.deepEqual(await take(stream), { data: { ticks: { n: 1, label: 'tick 1' } }, extensions: { resumable: { position: 'P1' } } });
    assert.deepEqual(await take(stream), {
      data: { ticks: { n: 2, label: 'tick 2' } },
      extensions: { resumable: { position: 'P2', lag: { events: 3, stale: false } } },
    });
    await stream.return!();
  });

  test('turns a checkpoint into a result with only extensions.resumable', async () => {
    const { source, args } = setUp();
    const stream = await open(args);
    source.push(resumableCheckpoint('P0', { events: null, stale: true }));
    assert.deepEqual(await take(stream), {
      extensions: { resumable: { position: 'P0', checkpoint: true, lag: { events: null, stale: true } } },
    });
    await stream.return!();
  });

  test('an event whose resolve throws keeps its position beside the error', async () => {
    const { source, args } = setUp();
    const stream = await open(args);
    source.push(resumableEvent(null, 'P9'));
    const result = (await take(stream)) as ExecutionResult;
    assert.equal(result.data, null);
    assert.equal(result.errors?.length, 1);
    assert.deepEqual(result.extensions, { resumable: { position: 'P9' } });
    await stream.return!();
  });

  test('executes any other item as graphql does, without extensions', async () => {
    const { source, args } = setUp();
    const stream = await open(args);
    source.push({ n: 7 });
    assert.deepEqual(await take(stream), { data: { ticks: { n: 7, label: 'tick 7' } } });
    await stream.return!();
  });

  test('an error raised before the stream exists comes back as a result with errors', async () => {
    const { args } = setUp({ refuse: new InterchangeError(ErrorCode.INVALID_CURSOR, 'bad position') });
    const result = await subscribeResumable(args);
    assert.ok(!(Symbol.asyncIterator in result));
    assert.equal(result.errors?.[0]?.message, 'bad position');
    assert.equal(result.errors?.[0]?.extensions['code'], ErrorCode.INVALID_CURSOR);
  });

  test('returning the stream releases the source, also while a next is pending', async () => {
    const { source, args } = setUp();
    const stream = await open(args);
    const pending = stream.next();
    await stream.return!();
    assert.equal(source.returned, true);
    assert.deepEqual(await withTimeout(pending, 5_000, 'the pending next never settled'), { done: true, value: undefined });
  });
});
