/**
 * The operation filter and the result patch on a supergraph composed here, with the security
 * directives imported the way subgraphs do (one of them renamed): what is left of a document for
 * a caller, and what the caller gets back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse, print, type ExecutionResult } from 'graphql';
import { ANONYMOUS, type Principal } from '../../../lib/auth/principal.ts';
import { filterOperation } from './filter.ts';
import { MAX_UNAUTHORIZED_ERRORS, patchResult } from './patch.ts';
import { readAuthorizationPolicy, withEnforcedSecurityFeatures } from './policy.ts';
import { TYPENAME_KEY } from './removals.ts';

const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7",
    import: ["@key", "@authenticated", { name: "@requiresScopes", as: "@scopes" }])
  type Query {
    me: User @authenticated
    users: [User!]!
    user(id: ID!): User
    node(id: ID!): Node
    secret: Secret
    count(n: Int): Int
  }
  interface Node { id: ID! label: String }
  type User implements Node @key(fields: "id") {
    id: ID!
    label: String @authenticated
    name: String
    email: String @scopes(scopes: [["support"], ["orders:all"]])
    ssn: String! @scopes(scopes: [["support", "orders:write"]])
    friends(first: Int): [User!]
  }
  type Product implements Node @key(fields: "id") { id: ID! name: String label: String }
  type Secret @authenticated { value: String }
  type Mutation { placeOrder(n: Int): Int @scopes(scopes: [["orders:write"]]) }
  type Subscription { ticks: Int @authenticated }
`;

const composed = composeServices([{ name: 'a', url: 'http://127.0.0.1:9/graphql', typeDefs: parse(SDL) }]);
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
const supergraphSdl = composed.supergraphSdl;
const schema = Supergraph.build(withEnforcedSecurityFeatures(supergraphSdl)).apiSchema().toGraphQLJSSchema();
const policy = readAuthorizationPolicy(supergraphSdl);

const caller = (scopes: string[], subject: string | null = 'u1'): Principal => ({ subject, customerId: null, scopes });

function filter(query: string, principal: Principal = ANONYMOUS, operationName?: string) {
  return filterOperation(schema, policy, parse(query), operationName, principal);
}

/** The filtered document, printed compactly. */
function filtered(query: string, principal: Principal = ANONYMOUS): string | null {
  const { document } = filter(query, principal);
  return document && print(document).replace(/\s+/g, ' ');
}

/** What the caller gets, given what executing the filtered document returned. */
function answer(query: string, principal: Principal, executed: Record<string, unknown> | null): ExecutionResult {
  const { removals } = filter(query, principal);
  assert.ok(removals, 'something was removed');
  const result = patchResult({ data: executed }, removals);
  return JSON.parse(JSON.stringify(result)) as ExecutionResult;
}

const errorsOf = (result: ExecutionResult) =>
  (result.errors ?? []).map((e) => ({ path: e.path, message: e.message, code: e.extensions?.['code'] }));

describe('the operation filter', () => {
  test('reads both directives through the names the supergraph links them under', () => {
    assert.match(supergraphSdl, /directive @scopes\(/);
    assert.deepEqual(policy.field('User', 'email'), [{ kind: 'scopes', anyOf: [['support'], ['orders:all']] }]);
    assert.deepEqual(policy.field('Query', 'me'), [{ kind: 'authenticated' }]);
    assert.deepEqual(
      policy.field('Query', 'secret'),
      [{ kind: 'authenticated' }],
      'a type-level requirement is on every field returning it',
    );
    assert.equal(policy.field('User', 'name'), undefined);
  });

  test('follows a link renamed with `as`', () => {
    const renamed = supergraphSdl
      .replace(
        '@link(url: "https://specs.apollo.dev/authenticated/v0.1"',
        '@link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "signedIn"',
      )
      .replaceAll('@authenticated', '@signedIn');
    assert.deepEqual(readAuthorizationPolicy(renamed).field('Query', 'me'), [{ kind: 'authenticated' }]);
    assert.equal(readAuthorizationPolicy(renamed.replaceAll('@signedIn', '@authenticated')).field('Query', 'me'), undefined);
  });

  test('leaves a document it has nothing to take from as it is, introspection included', () => {
    const document = parse('{ users { id name __typename } }');
    assert.equal(filterOperation(schema, policy, document, undefined, ANONYMOUS).document, document);
    assert.equal(filter('{ __schema { types { name } } __type(name: "User") { fields { name } } }').removals, null);
  });

  test('takes out denied fields, nulls them in every list item and reports each once at its path', () => {
    const query = '{ me { name } users { id name email } }';
    assert.equal(filtered(query), '{ users { id name } }');
    const result = answer(query, ANONYMOUS, {
      users: [
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
      ],
    });
    assert.deepEqual(result.data, {
      users: [
        { id: '1', name: 'a', email: null },
        { id: '2', name: 'b', email: null },
      ],
      me: null,
    });
    assert.deepEqual(errorsOf(result), [
      { path: ['me'], message: 'not authorized: "Query.me" needs a token', code: 'UNAUTHORIZED' },
      {
        path: ['users', 0, 'email'],
        message: 'not authorized: "User.email" needs one of scope "support" or scope "orders:all"',
        code: 'UNAUTHORIZED',
      },
    ]);
  });

  test('scopes are an OR of ANDs, and admin has them all', () => {
    const query = '{ users { email ssn } }';
    assert.equal(filtered(query, caller(['orders:all'])), '{ users { email } }');
    assert.equal(filtered(query, caller(['support'])), '{ users { email } }');
    assert.equal(filter(query, caller(['support', 'orders:write'])).removals, null);
    assert.equal(filter(query, caller(['admin'])).removals, null);
    const result = answer(query, caller(['support']), { users: [{ email: 'e' }] });
    assert.match(result.errors?.[0]?.message ?? '', /needs scopes "support" and "orders:write"/);
  });

  test('a type-level requirement applies to the fields returning the type', () => {
    assert.equal(filtered('{ secret { value } count }'), '{ count }');
    assert.equal(filter('{ secret { value } count }', caller([])).removals, null);
  });

  test('follows aliases and shared fragments, and drops the fragments and variables nothing uses any more', () => {
    const query = `
      query Q($id: ID!, $first: Int, $n: Int) {
        a: user(id: "1") { ...Public ...Private }
        b: user(id: $id) { ...Private }
        c: count(n: $n)
        d: user(id: "2") { friends(first: $first) { ...Private } }
      }
      fragment Public on User { id mail: email }
      fragment Private on User { ssn }`;
    assert.equal(filtered(query), 'query Q($n: Int) { a: user(id: "1") { ...Public } c: count(n: $n) } fragment Public on User { id }');
    const result = answer(query, ANONYMOUS, { a: { id: '1' }, c: 3 });
    assert.deepEqual(result.data, { a: null, c: 3, b: null, d: null }, 'ssn is non-null: its null takes its object with it');
    const paths = errorsOf(result).map((e) => e.path!.join('.'));
    assert.deepEqual(paths.toSorted(), ['a.mail', 'a.ssn', 'b', 'd']);
    assert.match(
      result.errors![paths.indexOf('b')]!.message,
      /^not authorized: nothing selected in "Query.user" is allowed \("User.ssn" needs scopes "support" and "orders:write"\)$/,
    );
    assert.match(result.errors![paths.indexOf('d')]!.message, /nothing selected in "Query.user" is allowed/);
  });

  test('a field emptied in one selection but kept in another with the same response key keeps its data', () => {
    const query = '{ users { id } ... on Query { users { email } } }';
    assert.equal(filtered(query), '{ users { id } }');
    const result = answer(query, ANONYMOUS, { users: [{ id: '1' }] });
    assert.deepEqual(result.data, { users: [{ id: '1', email: null }] });
    assert.deepEqual(
      errorsOf(result).map((e) => e.path),
      [['users', 0, 'email']],
    );
  });

  test('propagates a non-null null up to the nearest nullable parent, up to the data itself', () => {
    const inList = answer('{ user(id: "1") { friends { id ssn } } }', ANONYMOUS, {
      user: { friends: [{ id: '2' }, { id: '3' }] },
    });
    assert.deepEqual(inList.data, { user: { friends: null } }, 'the items are non-null: the list becomes null');
    assert.deepEqual(
      errorsOf(inList).map((e) => e.path),
      [['user', 'friends', 0, 'ssn']],
    );
    assert.deepEqual(answer('{ count users { ssn } }', ANONYMOUS, { count: 1 }).data, null, 'users is non-null');
  });

  test('on an abstract type, nulls a field only in the objects of the fragment type', () => {
    const query = '{ node(id: "1") { id ... on User { email } ... on Product { name } } }';
    assert.equal(filtered(query), `{ node(id: "1") { id ... on Product { name } ${TYPENAME_KEY}: __typename } }`);
    const user = answer(query, ANONYMOUS, { node: { id: '1', [TYPENAME_KEY]: 'User' } });
    assert.deepEqual(user.data, { node: { id: '1', email: null } });
    assert.deepEqual(
      errorsOf(user).map((e) => e.path),
      [['node', 'email']],
    );
    const product = answer(query, ANONYMOUS, { node: { id: '2', name: 'p', [TYPENAME_KEY]: 'Product' } });
    assert.deepEqual(product, { data: { node: { id: '2', name: 'p' } }, errors: [] }, 'a product has no email: nothing to null or report');
  });

  test('a field selected on an interface carries the requirements of every implementation', () => {
    assert.equal(filtered('{ node(id: "1") { id label } }'), '{ node(id: "1") { id } }');
    assert.equal(filter('{ node(id: "1") { ... on Product { label } } }').removals, null, 'on Product alone it is public');
  });

  test('executes nothing when every root field goes, for mutations and subscriptions too', () => {
    assert.equal(filter('mutation { placeOrder(n: 1) }', caller([])).document, null);
    assert.notEqual(filter('mutation { placeOrder(n: 1) }', caller(['orders:write'])).document, null);
    const denied = filter('subscription { ticks }');
    assert.equal(denied.document, null);
    assert.deepEqual(errorsOf(patchResult({ data: {} }, denied.removals!)), [
      {
        path: ['ticks'],
        message: 'not authorized: "Subscription.ticks" needs a token',
        code: 'UNAUTHORIZED',
      },
    ]);
  });

  test('leaves alone what @skip or @include leave out with these variables: it is neither executed nor answered', () => {
    const query = 'query ($with: Boolean!) { count me @include(if: $with) { id } users { email @skip(if: true) } }';
    const off = filterOperation(schema, policy, parse(query), undefined, ANONYMOUS, { with: false });
    assert.equal(off.removals, null);
    const on = filterOperation(schema, policy, parse(query), undefined, ANONYMOUS, { with: true });
    assert.equal(on.document && print(on.document).replace(/\s+/g, ' '), '{ count users { email @skip(if: true) } }');
  });

  test('picks the named operation and keeps only it', () => {
    const { document } = filter('query A { me { id } count } query B { count }', ANONYMOUS, 'A');
    assert.equal(print(document!).replace(/\s+/g, ' '), 'query A { count }');
  });

  test('costs the size of a fragment bomb, not its expansion, and bounds the errors', () => {
    const levels = 40;
    const fragments = [`fragment F0 on User { email name }`];
    for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`);
    const query = `{ users { ...F${levels} } } ${fragments.join(' ')}`;
    const result = answer(query, ANONYMOUS, { users: [{ name: 'a' }, { name: 'b' }] });
    assert.deepEqual(result.data, {
      users: [
        { name: 'a', email: null },
        { name: 'b', email: null },
      ],
    });
    assert.equal(result.errors?.length, 1);

    const aliases = Array.from({ length: MAX_UNAUTHORIZED_ERRORS + 50 }, (_, i) => `m${i}: me { id }`).join(' ');
    const many = answer(`{ count ${aliases} }`, ANONYMOUS, { count: 1 });
    assert.equal(many.errors?.length, MAX_UNAUTHORIZED_ERRORS);
    assert.equal(
      (many.data as Record<string, unknown>)[`m${MAX_UNAUTHORIZED_ERRORS + 49}`],
      null,
      'every removed field is null, reported or not',
    );
  });
});
