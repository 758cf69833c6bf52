/**
 * Plan execution with a deterministic fake subgraph, for what the differential corpus cannot reach
 * on purpose: objects that share one representation get the answer each in its own copy, and an
 * error of that representation at each of their paths.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchNode, PlanNode } from '@apollo/query-planner';
import { OperationTypeNode, buildSchema, type GraphQLError } from 'graphql';
import { executePlan, type SendFetch, type SubgraphAnswer } from './execute-plan.ts';

const schema = buildSchema('type Query { users: [User] } type User { id: ID profile: Profile } type Profile { bio: String }');

const fetch = (serviceName: string, requires?: FetchNode['requires']): FetchNode => ({
  kind: 'Fetch',
  serviceName,
  operation: `query ${serviceName}`,
  operationName: serviceName,
  operationKind: OperationTypeNode.QUERY,
  ...(requires && { requires }),
});

/** users (three, two of them the same user) from "users", then their profiles from "profiles". */
const plan: PlanNode = {
  kind: 'Sequence',
  nodes: [
    fetch('users'),
    {
      kind: 'Flatten',
      path: ['users', '@'],
      node: fetch('profiles', [
        {
          kind: 'InlineFragment',
          typeCondition: 'User',
          selections: [
            { kind: 'Field', name: '__typename' },
            { kind: 'Field', name: 'id' },
          ],
        },
      ]),
    },
  ],
};

function run(profiles: (representations: { id: string }[]) => SubgraphAnswer) {
  const sent: Record<string, unknown>[] = [];
  const send: SendFetch = (f, variables) => {
    sent.push(variables);
    if (f.serviceName === 'users') {
      return Promise.resolve({ data: { users: ['1', '2', '1'].map((id) => ({ __typename: 'User', id })) } });
    }
    return Promise.resolve(profiles(variables['representations'] as { id: string }[]));
  };
  const errors: GraphQLError[] = [];
  const data: Record<string, unknown> = {};
  return { sent, errors, data, done: executePlan({ supergraphSchema: schema, variables: {}, defaults: {}, send, errors }, plan, data) };
}

describe('plan execution', { timeout: 10_000 }, () => {
  test('one representation for objects of the same entity; each object gets its own copy of the answer', async () => {
    const { sent, data, done } = run((reps) => ({ data: { _entities: reps.map((r) => ({ profile: { bio: `bio ${r.id}` } })) } }));
    await done;
    assert.deepEqual(sent[1]!['representations'], [
      { __typename: 'User', id: '1' },
      { __typename: 'User', id: '2' },
    ]);
    const users = data['users'] as { id: string; profile: { bio: string } }[];
    assert.deepEqual(
      users.map((u) => u.profile.bio),
      ['bio 1', 'bio 2', 'bio 1'],
    );
    // A later fetch merging into one user's profile must not change the other's.
    assert.notEqual(users[0]!.profile, users[2]!.profile);
  });

  test("an error of a shared representation is reported at each of its objects' paths", async () => {
    const { errors, done } = run((reps) => ({
      data: { _entities: reps.map((r) => (r.id === '1' ? null : { profile: null })) },
      errors: [{ message: 'no profile', path: ['_entities', 0, 'profile'], extensions: { code: 'NOT_FOUND' } }],
    }));
    await done;
    assert.deepEqual(
      errors.map((e) => ({ path: e.path, extensions: e.extensions })),
      [
        { path: ['users', 0, 'profile'], extensions: { code: 'NOT_FOUND', serviceName: 'profiles' } },
        { path: ['users', 2, 'profile'], extensions: { code: 'NOT_FOUND', serviceName: 'profiles' } },
      ],
    );
  });
});
