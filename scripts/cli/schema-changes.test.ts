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
/** `KIND coordinate` of each change of a severity, in the order given. */
const found = (severity: string) => changes.filter((c) => c.severity === severity).map((c) => `${c.kind} ${c.coordinate}`);
/** The change types of graphql-js's enum that the schemas above do not make. */
const notMade = (types: Record<string, string>) => Object.values(types).filter((kind) => !changes.some((c) => c.kind === kind));

describe('schema changes', { timeout: 10_000 }, () => {
  test("gives every one of graphql-js's breaking changes its coordinate", () => {
    assert.deepEqual(found('breaking'), [
      'DIRECTIVE_REMOVED @gone',
      'DIRECTIVE_REPEATABLE_REMOVED @old',
      'DIRECTIVE_LOCATION_REMOVED @old',
      'DIRECTIVE_ARG_REMOVED @old(a:)',
      'REQUIRED_DIRECTIVE_ARG_ADDED @old(c:)',
      'VALUE_REMOVED_FROM_ENUM E.B',
      'REQUIRED_INPUT_FIELD_ADDED In.r',
      'TYPE_CHANGED_KIND Kind',
      'REQUIRED_ARG_ADDED Query.a(m:)',
      'ARG_CHANGED_KIND Query.a(x:)',
      'FIELD_CHANGED_KIND Query.c',
      'FIELD_REMOVED Query.gone',
      'ARG_REMOVED Query.w(old:)',
      'TYPE_REMOVED Removed',
      'IMPLEMENTED_INTERFACE_REMOVED T1',
      'TYPE_REMOVED_FROM_UNION U',
    ]);
    assert.deepEqual(notMade(BreakingChangeType), [], 'the schemas above make every kind of breaking change');
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
    assert.deepEqual(found('dangerous'), [
      'VALUE_ADDED_TO_ENUM E.D',
      'ARG_DEFAULT_VALUE_CHANGE Query.a(y:)',
      'IMPLEMENTED_INTERFACE_ADDED T3',
      'TYPE_ADDED_TO_UNION U',
    ]);
    assert.deepEqual(notMade(DangerousChangeType), [], 'the schemas above make every kind of dangerous change');
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
