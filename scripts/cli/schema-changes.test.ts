/** Every change between two schemas, classified, with its coordinate: graphql-js's, and the safe ones found here. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakingChangeType, DangerousChangeType, buildSchema } from 'graphql';
import { schemaChanges } from './schema-changes.ts';

const before = buildSchema(`
  directive @old(a: Int, b: Int) repeatable on FIELD | QUERY
  directive @gone on FIELD
  type Query { a(x: Int, y: Int = 1, z: String!): String  b: Int  c: [Int]  d: Int  u: U  i: I  e: E  w(v: Int!, old: Int): Int  gone: Int }
  interface I { id: ID }
  interface J { id: ID }
  type T1 implements I & J { id: ID }
  type T2 { id: ID }
  type T3 implements I { id: ID }
  union U = T1 | T2
  "Kinds of e."
  enum E { A B C @deprecated(reason: "x") }
  input In { p: Int  q: Int! }
  type Kind { k: Int }
  type Removed { r: Int }
`);

const after = buildSchema(`
  directive @old(b: Int, c: Int!) on FIELD
  directive @new on FIELD
  type Query {
    a(x: String, y: Int = 2, z: String, n: Int, m: Int!): String
    b: Int!  c: Int  d: Int @deprecated(reason: "use b")  u: U  i: I  e: E  w(v: Int): Int  added: Int  k: Kind
  }
  interface I { id: ID }
  interface J { id: ID }
  type T1 implements I { id: ID }
  type T2 { id: ID }
  type T3 implements I & J { id: ID }
  union U = T1 | T3
  "What e is."
  enum E { A C D }
  input In { p: Int  q: Int!  r: Int!  s: Int }
  input Kind { k: Int }
  type New { n: Int }
`);

const changes = schemaChanges(before, after);
const row = (severity: string, kind: string, coordinate: string) => `${severity} ${kind} ${coordinate}`;

describe('schema changes', { timeout: 10_000 }, () => {
  test("gives every one of graphql-js's breaking changes its coordinate", () => {
    assert.deepEqual(
      changes.filter((c) => c.severity === 'breaking').map((c) => row(c.severity, c.kind, c.coordinate)),
      [
        row('breaking', 'DIRECTIVE_REMOVED', '@gone'),
        row('breaking', 'DIRECTIVE_REPEATABLE_REMOVED', '@old'),
        row('breaking', 'DIRECTIVE_LOCATION_REMOVED', '@old'),
        row('breaking', 'DIRECTIVE_ARG_REMOVED', '@old(a:)'),
        row('breaking', 'REQUIRED_DIRECTIVE_ARG_ADDED', '@old(c:)'),
        row('breaking', 'VALUE_REMOVED_FROM_ENUM', 'E.B'),
        row('breaking', 'REQUIRED_INPUT_FIELD_ADDED', 'In.r'),
        row('breaking', 'TYPE_CHANGED_KIND', 'Kind'),
        row('breaking', 'REQUIRED_ARG_ADDED', 'Query.a(m:)'),
        row('breaking', 'ARG_CHANGED_KIND', 'Query.a(x:)'),
        row('breaking', 'FIELD_CHANGED_KIND', 'Query.c'),
        row('breaking', 'FIELD_REMOVED', 'Query.gone'),
        row('breaking', 'ARG_REMOVED', 'Query.w(old:)'),
        row('breaking', 'TYPE_REMOVED', 'Removed'),
        row('breaking', 'IMPLEMENTED_INTERFACE_REMOVED', 'T1'),
        row('breaking', 'TYPE_REMOVED_FROM_UNION', 'U'),
      ],
    );
    const kinds = new Set(changes.map((c) => c.kind));
    assert.deepEqual(
      Object.values(BreakingChangeType).filter((kind) => !kinds.has(kind)),
      [],
      'the schemas above make every kind of breaking change',
    );
  });

  test('keeps what graphql-js says, the member a union or interface change is about, and why', () => {
    const union = changes.find((c) => c.kind === 'TYPE_REMOVED_FROM_UNION');
    assert.deepEqual(union, {
      severity: 'breaking',
      kind: 'TYPE_REMOVED_FROM_UNION',
      coordinate: 'U',
      target: { type: 'U', member: 'T2' },
      message: 'T2 was removed from union type U',
      why: 'fragments on the member inside the union fail validation, and results no longer include it',
    });
    assert.deepEqual(changes.find((c) => c.kind === 'IMPLEMENTED_INTERFACE_REMOVED')?.target, { type: 'T1', member: 'J' });
  });

  test("keeps graphql-js's dangerous changes, but for an optional argument or input field added, which is safe", () => {
    assert.deepEqual(
      changes.filter((c) => c.severity === 'dangerous').map((c) => row(c.severity, c.kind, c.coordinate)),
      [
        row('dangerous', 'VALUE_ADDED_TO_ENUM', 'E.D'),
        row('dangerous', 'ARG_DEFAULT_VALUE_CHANGE', 'Query.a(y:)'),
        row('dangerous', 'IMPLEMENTED_INTERFACE_ADDED', 'T3'),
        row('dangerous', 'TYPE_ADDED_TO_UNION', 'U'),
      ],
    );
    const kinds = new Set(changes.map((c) => c.kind));
    assert.deepEqual(
      Object.values(DangerousChangeType).filter((kind) => !kinds.has(kind)),
      [],
      'the schemas above make every kind of dangerous change',
    );
  });

  test('finds the safe changes: additions, compatible type changes, deprecations, descriptions', () => {
    assert.deepEqual(
      changes.filter((c) => c.severity === 'safe').map((c) => [c.kind, c.coordinate, c.message]),
      [
        ['DIRECTIVE_ADDED', '@new', '@new was added'],
        ['DESCRIPTION_CHANGED', 'E', 'E has a new description'],
        ['DEPRECATION_REMOVED', 'E.C', 'E.C is no longer deprecated'],
        ['OPTIONAL_INPUT_FIELD_ADDED', 'In.s', 'An optional field s on input type In was added'],
        ['TYPE_ADDED', 'New', 'New was added'],
        ['OPTIONAL_ARG_ADDED', 'Query.a(n:)', 'An optional arg n on Query.a was added'],
        ['INPUT_TYPE_WIDENED', 'Query.a(z:)', 'Query.a(z:) changed type from String! to String'],
        ['FIELD_ADDED', 'Query.added', 'Query.added was added'],
        ['OUTPUT_TYPE_NARROWED', 'Query.b', 'Query.b changed type from Int to Int!'],
        ['DEPRECATION_ADDED', 'Query.d', 'Query.d was deprecated: use b'],
        ['FIELD_ADDED', 'Query.k', 'Query.k was added'],
        ['INPUT_TYPE_WIDENED', 'Query.w(v:)', 'Query.w(v:) changed type from Int! to Int'],
      ],
    );
  });

  test('finds nothing between a schema and itself', () => {
    assert.deepEqual(schemaChanges(before, before), []);
  });
});
