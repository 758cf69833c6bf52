/**
 * The differential harness itself: its comparison sees every difference that matters (a changed
 * error code, path or serviceName, a field's value, the order of fields), its normalisations are the
 * documented ones and no more, and the generated operations are the same on every run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casesOf } from './generate.ts';
import { assertSameResponse, normalise, type Result } from './harness.ts';
import { SUPERGRAPHS } from './supergraphs/index.ts';

const STOCK: Result = {
  data: { a: 1, b: { c: null } },
  errors: [
    { message: 'boom', path: ['b', 'c'], extensions: { code: 'BOOM', serviceName: 'x' } },
    { message: 'another', path: ['a'], extensions: { code: 'OTHER', serviceName: 'y' } },
  ],
};
const copy = (): Result => JSON.parse(JSON.stringify(STOCK)) as Result;
const same = (actual: Result) => assertSameResponse(normalise(actual), normalise(STOCK), 'test');

test('the comparison fails on a changed extensions.code', () => {
  const changed = copy();
  changed.errors![0]!.extensions!['code'] = 'INTERNAL_SERVER_ERROR';
  assert.throws(() => same(changed));
});

test('the comparison fails on a changed error path', () => {
  const changed = copy();
  changed.errors![0]!.path = ['b'];
  assert.throws(() => same(changed));
});

test('the comparison fails on a missing serviceName', () => {
  const changed = copy();
  delete changed.errors![1]!.extensions!['serviceName'];
  assert.throws(() => same(changed));
});

test('the comparison fails on a changed value and on fields in another order', () => {
  assert.throws(() => same({ ...copy(), data: { a: 2, b: { c: null } } }));
  assert.throws(() => same({ ...copy(), data: { b: { c: null }, a: 1 } }));
});

test('the comparison ignores top-level extensions and the order of errors, nothing else', () => {
  const reordered = copy();
  reordered.errors!.reverse();
  same({ ...reordered, extensions: { interchange: true } });
});

test('generated operations are the same on every run', () => {
  for (const def of SUPERGRAPHS) assert.deepStrictEqual(casesOf(def), casesOf(def));
});

test('the corpus has at least 300 cases', () => {
  const total = SUPERGRAPHS.reduce((sum, d) => sum + casesOf(d).length, 0);
  assert.ok(total >= 300, `${total} cases`);
});
