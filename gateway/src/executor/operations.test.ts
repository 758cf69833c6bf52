/**
 * The guard against the query planner's empty plans: an operation whose root fields need subgraphs
 * but whose plan fetches nothing is refused, rather than answered with nulls and no error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueryPlan } from '@apollo/query-planner';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { unplannedFields } from './operations.ts';

const EMPTY: QueryPlan = { kind: 'QueryPlan' };

function check(query: string, plan: QueryPlan = EMPTY): string[] {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return unplannedFields(plan, document, operation);
}

test('an empty plan for root fields that need subgraphs leaves them unanswered', { timeout: 5_000 }, () => {
  assert.deepEqual(check('{ a b: c ... on Query { d } ...F } fragment F on Query { e }'), ['a', 'b', 'd', 'e']);
});

test('an empty plan is right for introspection and for fields skipped by literals', { timeout: 5_000 }, () => {
  assert.deepEqual(check('{ __typename __schema { queryType { name } } a @skip(if: true) b @include(if: false) }'), []);
  assert.deepEqual(check('{ a @skip(if: false) }'), ['a']);
});

test('a plan with a node answers its fields', { timeout: 5_000 }, () => {
  const plan: QueryPlan = { kind: 'QueryPlan', node: { kind: 'Sequence', nodes: [] } };
  assert.deepEqual(check('{ a }', plan), []);
});
