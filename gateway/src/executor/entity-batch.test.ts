/**
 * Entity fetches batched per turn of the event loop, with a fake subgraph that records what it was
 * sent: one request for the askers of a turn, each distinct representation once, and each asker's
 * answer (entities and errors) as it would have had it alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EntityBatcher, type EntityRequest } from './entity-batch.ts';
import type { SubgraphAnswer } from './execute-plan.ts';

const QUERY = (name: string) => `query ${name}($representations:[_Any!]!){_entities(representations:$representations){...on User{name}}}`;
const user = (id: string) => ({ __typename: 'User', id });

/** A subgraph answering each representation with its user, or an error for id "bad"; `answer` overrides. */
function fakeSubgraph(answer?: (request: EntityRequest) => SubgraphAnswer) {
  const sent: EntityRequest[] = [];
  const batcher = new EntityBatcher<string>((request) => {
    sent.push(request);
    if (answer) return Promise.resolve(answer(request));
    const reps = request.variables['representations'] as { id: string }[];
    const errors = reps.flatMap((r, i) => (r.id === 'bad' ? [{ message: 'no such user', path: ['_entities', i, 'name'] }] : []));
    return Promise.resolve({
      data: { _entities: reps.map((r) => (r.id === 'bad' ? null : { name: `user ${r.id}` })) },
      ...(errors.length > 0 && { errors }),
    });
  });
  const load = (name: string, ids: string[], caller = 'c', extra: Record<string, unknown> = {}) =>
    batcher.load({ query: QUERY(name), operationName: name, variables: { ...extra, representations: ids.map(user) } }, caller, caller);
  return { sent, load };
}

describe('entity batching', { timeout: 10_000 }, () => {
  test('askers of one turn share one request, each distinct representation once, each answer in its own order', async () => {
    const { sent, load } = fakeSubgraph();
    const [a, b] = await Promise.all([load('A', ['1', '2']), load('B', ['2', '3', '1'])]);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.variables['representations'], [user('1'), user('2'), user('3')]);
    assert.deepEqual(a, { data: { _entities: [{ name: 'user 1' }, { name: 'user 2' }] } });
    assert.deepEqual(b, { data: { _entities: [{ name: 'user 2' }, { name: 'user 3' }, { name: 'user 1' }] } });
    // Each its own objects: merging into one answer never shows in another.
    assert.notEqual(a.data!['_entities'], b.data!['_entities']);
  });

  test("an entity's error reaches every asker of it, at the asker's own index", async () => {
    const { load } = fakeSubgraph();
    const [a, b] = await Promise.all([load('A', ['bad', '1']), load('B', ['1', '2', 'bad'])]);
    assert.deepEqual(a.errors, [{ message: 'no such user', path: ['_entities', 0, 'name'] }]);
    assert.deepEqual(b.errors, [{ message: 'no such user', path: ['_entities', 2, 'name'] }]);
    assert.deepEqual(b.data, { _entities: [{ name: 'user 1' }, { name: 'user 2' }, null] });
  });

  test('askers of different turns, callers or other variables get requests of their own', async () => {
    const { sent, load } = fakeSubgraph();
    await load('A', ['1']);
    await load('A', ['1']);
    await Promise.all([load('A', ['1'], 'alice'), load('A', ['1'], 'bob'), load('A', ['1'], 'alice', { limit: 2 })]);
    assert.equal(sent.length, 5);
  });

  test('a request that fails gives every asker its errors and no data', async () => {
    const failure = {
      errors: [{ message: 'subgraph "users" is unavailable: ECONNREFUSED', extensions: { code: 'SUBGRAPH_UNAVAILABLE' } }],
    };
    const { load } = fakeSubgraph(() => failure);
    const [a, b] = await Promise.all([load('A', ['1']), load('B', ['2'])]);
    assert.deepEqual(a, failure);
    assert.deepEqual(b, failure);
  });

  test('an answer with the wrong number of entities reaches each asker as it came', async () => {
    const odd = { data: { _entities: [{ name: 'only one' }] } };
    const { load } = fakeSubgraph(() => odd);
    const [a, b] = await Promise.all([load('A', ['1']), load('B', ['2'])]);
    assert.deepEqual(a, odd);
    assert.deepEqual(b, odd);
  });
});
