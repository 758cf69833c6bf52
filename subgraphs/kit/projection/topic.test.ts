/** The kit's read model with a topic's upsert reducer: decoding by the contract, upserts, de-duplication, indexes, pages. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventContract } from './event-schemas.ts';
import { ReadModel, type Reducer } from './read-model.ts';
import { TopicProjection, topicDecoder } from './topic.ts';

const contract = eventContract([
  {
    file: 'moved.json',
    schema: {
      type: 'object',
      required: ['type', 'eventId', 'parcel'],
      properties: {
        type: { const: 'ParcelMoved' },
        eventId: { type: 'string' },
        parcel: { type: 'string', 'x-key': true },
        depot: { type: 'string' },
        weight: { type: 'integer', minimum: 0 },
        dimensions: {
          type: 'array',
          items: { type: 'object', properties: { axis: { type: 'string' }, cm: { type: 'number' } } },
        },
      },
    },
  },
]);
const decode = topicDecoder(contract);
const moved = (parcel: string, eventId: string, fields: Record<string, unknown> = {}) => {
  const decoded = decode(JSON.stringify({ type: 'ParcelMoved', eventId, parcel, ...fields }));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return decoded.event;
};

describe('a topic projection', () => {
  test('decoding says why a record is not an event of the contract', () => {
    const reasons = ['{', '{"x":1}', '{"type":"Other"}', '{"type":"ParcelMoved","eventId":"e","parcel":"p","weight":-1}'].map((value) => {
      const decoded = decode(value);
      return decoded.ok ? 'ok' : decoded.reason.replace(/: .*JSON.*/, ': (parser message)');
    });
    assert.deepEqual(reasons, [
      'not JSON: (parser message)',
      'not an event: no `type`',
      'unknown event type "Other" (the contract has ParcelMoved)',
      'invalid ParcelMoved: event/weight must be >= 0',
    ]);
  });

  test('upserts: each event merges its fields into its key’s entity; a replayed or repeated event changes nothing', () => {
    const projection = new TopicProjection(contract);
    assert.equal(projection.apply({ partition: 0, offset: 0 }, moved('p1', 'e1', { depot: 'north', weight: 3 })).kind, 'applied');
    assert.equal(projection.apply({ partition: 0, offset: 1 }, moved('p1', 'e2', { depot: 'south' })).kind, 'applied');
    assert.equal(projection.apply({ partition: 0, offset: 1 }, moved('p1', 'e3')).kind, 'replayed');
    assert.equal(projection.apply({ partition: 0, offset: 2 }, moved('p1', 'e1', { depot: 'west' })).kind, 'duplicate');
    assert.deepEqual(projection.get('p1'), { parcel: 'p1', depot: 'south', weight: 3, __key: 'p1', __version: 2 });
    assert.deepEqual(projection.positionVector(1), [3]);
  });

  test('merges only the fields the contract declares, at every depth', () => {
    // Deeper than JSON.stringify can write back: an entity holding it could never be saved.
    const deep = `${'{"deeper":'.repeat(20_000)}{}${'}'.repeat(20_000)}`;
    const decoded = decode(
      `{"type":"ParcelMoved","eventId":"e1","parcel":"p1","depot":"north","extra":${deep},"dimensions":[{"axis":"x","cm":3,"note":${deep}}]}`,
    );
    assert.ok(decoded.ok);
    const projection = new TopicProjection(contract);
    const event = decoded.event;
    projection.apply({ partition: 0, offset: 0 }, event);
    assert.deepEqual(projection.get('p1'), { parcel: 'p1', depot: 'north', dimensions: [{ axis: 'x', cm: 3 }], __key: 'p1', __version: 1 });
    assert.doesNotThrow(() => JSON.stringify(projection.exportState(1)));
  });

  test('many events of one key keep its entity, and what de-duplication remembers, the same size', () => {
    const projection = new TopicProjection(contract, { recentEventIds: 100 });
    const sizes: number[] = [];
    for (let offset = 0; offset < 5_000; offset++) {
      const result = projection.apply({ partition: 0, offset }, moved('p1', `e${offset}`, { weight: offset % 10 }));
      assert.equal(result.kind, 'applied');
      if (offset === 9 || offset === 4_999) sizes.push(JSON.stringify({ ...result.entity, __version: 0 }).length);
    }
    assert.equal(sizes[1], sizes[0], 'the entity (and so each journal entry holding it) does not grow');
    assert.ok(Object.values(projection.get('p1')!).every((value) => !Array.isArray(value)));
    assert.equal(projection.rememberedEventIds, 100);
    // A repeat within the window is a duplicate; one older than it applies again (the documented bound).
    assert.equal(projection.apply({ partition: 0, offset: 5_000 }, moved('p1', 'e4999')).kind, 'duplicate');
    assert.equal(projection.apply({ partition: 0, offset: 5_001 }, moved('p1', 'e0')).kind, 'applied');
  });

  test('lists entities by key, a page after a key', () => {
    const projection = new TopicProjection(contract);
    ['c', 'a', 'd', 'b'].forEach((parcel, offset) => projection.apply({ partition: 0, offset }, moved(parcel, `e-${parcel}`)));
    const keys = (entities: { __key: string }[]) => entities.map((e) => e.__key);
    assert.deepEqual(keys(projection.page(2)), ['a', 'b']);
    assert.deepEqual(keys(projection.page(2, 'b')), ['c', 'd']);
    assert.deepEqual(keys(projection.page(2, 'd')), []);
    assert.throws(() => projection.page(0), /"first" must be between 1 and 100/);
  });

  test('lists entities by an indexed property, by key, moving one when an event changes the property', () => {
    const projection = new TopicProjection(contract, { indexes: ['depot'] });
    const keys = (entities: { __key: string }[]) => entities.map((e) => e.__key);
    projection.apply({ partition: 0, offset: 0 }, moved('p2', 'e1', { depot: 'north' }));
    projection.apply({ partition: 0, offset: 1 }, moved('p1', 'e2', { depot: 'north' }));
    projection.apply({ partition: 0, offset: 2 }, moved('p3', 'e3'));
    assert.deepEqual(keys(projection.listedBy('depot', 'north')), ['p1', 'p2']);
    // An event without the property keeps the entity where it is; one with another value moves it.
    projection.apply({ partition: 0, offset: 3 }, moved('p2', 'e4', { weight: 2 }));
    assert.deepEqual(keys(projection.listedBy('depot', 'north')), ['p1', 'p2']);
    projection.apply({ partition: 0, offset: 4 }, moved('p2', 'e5', { depot: 'south' }));
    projection.apply({ partition: 0, offset: 5 }, moved('p3', 'e6', { depot: 'south' }));
    assert.deepEqual(
      [
        keys(projection.listedBy('depot', 'north')),
        keys(projection.listedBy('depot', 'south')),
        keys(projection.listedBy('depot', 'west')),
      ],
      [['p1'], ['p2', 'p3'], []],
    );
    const restored = new TopicProjection(contract, { indexes: ['depot'] });
    restored.restoreState(structuredClone(projection.exportState(1)));
    assert.deepEqual(keys(restored.listedBy('depot', 'south')), ['p2', 'p3'], 'a restored projection lists them too');
  });

  test('lists integer keys in numeric order, and sees a key added after a page was listed', () => {
    const numbered = eventContract([
      {
        file: 'counted.json',
        schema: {
          type: 'object',
          required: ['type', 'eventId', 'bin'],
          properties: { type: { const: 'Counted' }, eventId: { type: 'string' }, bin: { type: 'integer', 'x-key': true } },
        },
      },
    ]);
    const projection = new TopicProjection(numbered);
    const count = topicDecoder(numbered);
    const add = (bin: number, offset: number) => {
      const decoded = count(JSON.stringify({ type: 'Counted', eventId: `e${bin}`, bin }));
      assert.ok(decoded.ok);
      projection.apply({ partition: 0, offset }, decoded.event);
    };
    [10, 9, 100, 2].forEach(add);
    const keys = (entities: { __key: string }[]) => entities.map((e) => e.__key);
    assert.deepEqual(keys(projection.page(10)), ['2', '9', '10', '100']);
    assert.deepEqual(keys(projection.page(2, '9')), ['10', '100']);
    add(11, 4);
    assert.deepEqual(keys(projection.page(10, '9')), ['10', '11', '100']);
  });
});

describe('the read model', () => {
  interface Tally {
    id: string;
    owner: string;
    ids: string[];
  }
  type Move = { id: string; tally: string; owner: string };
  const reducer: Reducer<Tally, Move> = {
    key: (move) => move.tally,
    eventId: (move) => move.id,
    keyOf: (tally) => tally.id,
    eventIds: (tally) => tally.ids,
    indexes: { owner: (tally) => tally.owner },
    apply: (existing, move) =>
      move.owner === ''
        ? { refused: 'no owner' }
        : { entity: { id: move.tally, owner: move.owner, ids: [...(existing?.ids ?? []), move.id] } },
  };

  test('moves an entity between index entries when its indexed value changes, and restores its indexes from a state', () => {
    const model = new ReadModel(reducer);
    model.apply({ partition: 0, offset: 0 }, { id: 'm1', tally: 't1', owner: 'ann' });
    model.apply({ partition: 0, offset: 1 }, { id: 'm2', tally: 't2', owner: 'ann' });
    model.apply({ partition: 0, offset: 2 }, { id: 'm3', tally: 't1', owner: 'bob' });
    const owned = (m: ReadModel<Tally, Move>, owner: string) => m.indexed('owner', owner).map((t) => t.id);
    assert.deepEqual([owned(model, 'ann'), owned(model, 'bob')], [['t2'], ['t1']]);
    const restored = new ReadModel(reducer);
    restored.restoreState(structuredClone(model.exportState(1)));
    assert.deepEqual([owned(restored, 'ann'), owned(restored, 'bob')], [['t2'], ['t1']]);
    assert.deepEqual(restored.snapshot(), model.snapshot());
  });

  test('a refused event changes nothing, not even the position, until the caller skips it', () => {
    const model = new ReadModel(reducer);
    assert.deepEqual(model.apply({ partition: 1, offset: 0 }, { id: 'm1', tally: 't1', owner: '' }), {
      kind: 'refused',
      reason: 'no owner',
    });
    assert.deepEqual([model.size, model.position(1)], [0, 0]);
    model.skip({ partition: 1, offset: 0 });
    assert.equal(model.position(1), 1);
  });
});
