/**
 * Admission (gateway/src/limits): the cost formula on a supergraph composed here with federation's
 * demand-control directives, each limit at and just above its setting, the issue's bombs, trusted
 * documents, and the README's operations admitted with the default settings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { getIntrospectionQuery, parse } from 'graphql';
import { withEnforcedSecurityFeatures } from '../../gateway/src/authorization/policy.ts';
import { readGatewayConfig } from '../../gateway/src/config.ts';
import { Admission, type OperationLimits } from '../../gateway/src/limits/admission.ts';
import { admissionOn, operationLimits } from '../../gateway/src/limits/setup.ts';
import { sha256, trustedDocuments } from '../../gateway/src/limits/trusted-documents.ts';
import { repoRoot } from '../../lib/supervisor.ts';
import { TEST_QUERY } from '../bench/federation/query.ts';
import { composeBenchSupergraph } from '../bench/federation/supergraph.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { BOMBS, tokensOf } from '../support/operation-limits.ts';

const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
  type Query {
    customers(first: Int = 20): [Customer!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
    unsized: [Customer!]!
    assumed: [Customer!]! @listSize(assumedSize: 7)
    expensive: Int @cost(weight: 50)
    page(limit: Int): Page @listSize(slicingArguments: ["limit"], sizedFields: ["items"])
    search(text: String @cost(weight: 4)): Int
    paged(first: Int, last: Int): [Customer!]! @listSize(slicingArguments: ["first", "last"])
  }
  type Page { items: [Customer!]! total: Int }
  type Customer @key(fields: "id") { id: ID! name: String favoriteProducts: [Product!] @listSize(assumedSize: 5) friends: [Customer!] bestFriend: Customer }
  type Product @key(fields: "id") @cost(weight: 3) { id: ID! name: String }
  type Mutation { place(note: String): Int  costly: Int @cost(weight: 2) }
`;

function supergraphOf(sdl: string): string {
  const composed = composeServices([{ name: 'a', url: 'http://127.0.0.1:1/graphql', typeDefs: parse(sdl) }]);
  assert.ok(composed.supergraphSdl, String(composed.errors));
  return composed.supergraphSdl;
}

/** As the gateway builds it: the security features it enforces itself are loaded as plain ones. */
const apiSchemaOf = (supergraphSdl: string) =>
  Supergraph.build(withEnforcedSecurityFeatures(supergraphSdl)).apiSchema().toGraphQLJSSchema();

const LIMITS: OperationLimits = {
  depth: 4,
  aliases: 3,
  rootFields: 3,
  fields: 32,
  directives: 2,
  tokens: 40,
  documentBytes: 400,
  cost: 100,
  defaultListSize: 10,
};

function admissionFor(sdl = SDL, limits: Partial<OperationLimits> = {}, enabled = true): Admission {
  const supergraphSdl = supergraphOf(sdl);
  return new Admission({
    enabled,
    limits: { ...LIMITS, ...limits },
    apiSchema: apiSchemaOf(supergraphSdl),
    supergraphSdl,
    trustedRequired: false,
  });
}

const costOf = (admission: Admission, query: string, variables?: Record<string, unknown>): number | string => {
  try {
    admission.admit({ query, variables });
  } catch (err) {
    const { limit, found } = {
      limit: (err as { extensions: Record<string, unknown> }).extensions['limit'],
      found: /it has (\d+)/.exec((err as Error).message)?.[1],
    };
    return limit === 'cost' ? Number(found) : String((err as Error).message);
  }
  return 'admitted';
};

test('cost follows @cost, @listSize and the defaults (README: "Operation limits")', { timeout: 10_000 }, () => {
  const admission = admissionFor(SDL, { cost: 0, depth: 100, aliases: 100, rootFields: 100, tokens: 10_000, documentBytes: 10_000 });
  // An object costs 1, a scalar 0; a list multiplies by its slicing argument (literal, variable, default).
  assert.equal(costOf(admission, '{ customers(first: 5) { id name } }'), 5);
  assert.equal(costOf(admission, 'query($n: Int) { customers(first: $n) { id } }', { n: 8 }), 8);
  assert.equal(costOf(admission, 'query($n: Int = 6) { customers(first: $n) { id } }'), 6);
  assert.equal(costOf(admission, '{ customers { id } }'), 20);
  assert.equal(costOf(admission, 'query($n: Int) { customers(first: $n) { id } }'), 20);
  // assumedSize, else DEFAULT_LIST_SIZE; a type's @cost; nesting multiplies.
  assert.equal(costOf(admission, '{ assumed { id } }'), 7);
  assert.equal(costOf(admission, '{ unsized { id } }'), 10);
  assert.equal(costOf(admission, '{ customers(first: 2) { favoriteProducts { name } } }'), 2 * (1 + 5 * 3));
  // A field's and an argument's @cost.
  assert.equal(costOf(admission, '{ expensive search(text: "a") }'), 50 + 4);
  // sizedFields: the size multiplies the connection's items, not the connection.
  assert.equal(costOf(admission, '{ page(limit: 4) { total items { id } } }'), 1 + 4 * 1);
  // A mutation's root field costs 10 unless it has its own @cost.
  assert.equal(costOf(admission, 'mutation { place(note: "x") costly }'), 10 + 2);
  // A fragment under two sizes of the same sized field is multiplied by each.
  assert.equal(costOf(admission, '{ a: page(limit: 2) { ...P } b: page(limit: 3) { ...P } } fragment P on Page { total items { id } }'), 7);
  // Introspection costs nothing but its lists that nest without end, each a list of DEFAULT_LIST_SIZE.
  assert.equal(costOf(admission, '{ __typename __schema { types { name ofType { name } } } }'), 'admitted');
  assert.equal(costOf(admission, '{ __schema { types { fields { name } } } }'), 10);
  assert.equal(costOf(admission, '{ __type(name: "Customer") { fields { type { fields { name } } } } }'), 10 * (1 + 10));
  // Fragments count where they are spread.
  assert.equal(costOf(admission, '{ customers(first: 3) { ...F } } fragment F on Customer { friends { id } }'), 3 * (1 + 10));
});

const refusal = (admission: Admission, query: string, variables?: Record<string, unknown>, operationName?: string) => {
  try {
    admission.admit({ query, variables, operationName });
    return undefined;
  } catch (err) {
    return (err as { extensions: Record<string, unknown> }).extensions;
  }
};

test(
  'each limit admits an operation at its setting and refuses one just above it, naming the limit and its setting',
  { timeout: 10_000 },
  () => {
    const admission = admissionFor();
    const nested = (depth: number) => `{ customers(first: 1) ${'{ bestFriend '.repeat(depth - 2)}{ id }${' }'.repeat(depth - 2)} }`;
    const tokens = (n: number) => {
      const base = '{ customers(first: 1) { id } }';
      return `{ customers(first: 1) { id${' __typename'.repeat(n - tokensOf(base))} } }`;
    };
    const cases: [string, (n: number) => string, number][] = [
      ['depth', nested, LIMITS.depth],
      ['aliases', (n) => `{ customers(first: 1) { ${Array.from({ length: n }, (_, i) => `a${i}: id`).join(' ')} } }`, LIMITS.aliases],
      ['rootFields', (n) => `{ ${'__typename '.repeat(n)}}`, LIMITS.rootFields],
      ['directives', (n) => `{ customers(first: 1) { id${' @include(if: true)'.repeat(n)} } }`, LIMITS.directives],
      ['tokens', tokens, LIMITS.tokens],
      ['documentBytes', (n) => `{ __typename }${' '.repeat(n - 14)}`, LIMITS.documentBytes],
      ['cost', (n) => `{ customers(first: ${n}) { id } }`, LIMITS.cost],
    ];
    for (const [limit, make, max] of cases) {
      assert.equal(refusal(admission, make(max)), undefined, `${limit} at its limit is admitted`);
      assert.deepEqual(refusal(admission, make(max + 1)), { limit, max, code: 'OPERATION_LIMIT_EXCEEDED' }, `${limit} above its limit`);
    }
    assert.equal(tokensOf(tokens(LIMITS.tokens)), LIMITS.tokens);
    assert.equal(Buffer.byteLength(`{ __typename }${' '.repeat(LIMITS.documentBytes - 14)}`), LIMITS.documentBytes);
    // The operation named is measured, with its own variables' defaults; a document whose operation
    // cannot be picked is refused before it is measured (it could not run).
    const two = 'query A($n: Int = 1) { ...F } query B($n: Int = 101) { ...F } fragment F on Query { customers(first: $n) { id } }';
    const roomy = admissionFor(SDL, { tokens: 1_000, documentBytes: 10_000 });
    assert.equal(refusal(roomy, two, undefined, 'A'), undefined);
    assert.equal(refusal(roomy, two, undefined, 'B')?.['limit'], 'cost');
    assert.equal(refusal(roomy, two)?.['code'], 'BAD_REQUEST');
    assert.equal(refusal(roomy, two, undefined, 'C')?.['code'], 'BAD_REQUEST');
    // Fields count with every fragment expanded where it is spread.
    const spreads = (n: number) => `{ customers(first: 1) { ${'...F '.repeat(n - 1)}} } fragment F on Customer { id }`;
    assert.equal(refusal(roomy, spreads(LIMITS.fields)), undefined);
    assert.deepEqual(refusal(roomy, spreads(LIMITS.fields + 1)), { limit: 'fields', max: LIMITS.fields, code: 'OPERATION_LIMIT_EXCEEDED' });
    // OPERATION_LIMITS=false checks nothing.
    assert.equal(refusal(admissionFor(SDL, {}, false), nested(40)), undefined);
  },
);

test('a list field whose @listSize requires one slicing argument is refused without exactly one', { timeout: 10_000 }, () => {
  const admission = admissionFor();
  const query = 'query($f: Int, $l: Int) { paged(first: $f, last: $l) { id } }';
  assert.equal(refusal(admission, query, { f: 2 }), undefined);
  assert.equal(refusal(admission, '{ paged(last: 2) { id } }'), undefined);
  for (const [text, variables] of [
    ['{ paged { id } }', {}],
    ['{ paged(first: 1, last: 2) { id } }', {}],
    ['{ paged(first: null) { id } }', {}],
    [query, {}],
    [query, { f: 1, l: 1 }],
  ] as const) {
    assert.equal(refusal(admission, text, variables)?.['code'], 'BAD_REQUEST', `${text} ${JSON.stringify(variables)}`);
  }
  // `requireOneSlicingArgument: false` (the example schema's lists) takes the argument's default.
  assert.equal(refusal(admission, '{ customers { id } }'), undefined);
});

test('APQ: a hash sent alone is admitted again with its own variables and operationName', { timeout: 10_000 }, () => {
  const admission = admissionFor(SDL, { tokens: 1_000, documentBytes: 10_000 });
  const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });
  const code = (params: Parameters<Admission['admit']>[0]) => {
    try {
      admission.admit(params);
      return 'admitted';
    } catch (err) {
      const extensions = (err as { extensions: Record<string, unknown> }).extensions;
      return [extensions['code'], extensions['limit']].filter(Boolean).join(' ');
    }
  };
  const sized = 'query Q($n: Int) { customers(first: $n) { id } }';
  assert.equal(code({ extensions: apq(sized), variables: { n: 1 } }), 'PERSISTED_QUERY_NOT_FOUND');
  assert.equal(code({ query: sized, extensions: apq(sized), variables: { n: 1 } }), 'admitted');
  assert.equal(admission.admit({ extensions: apq(sized), variables: { n: 1 } }).query, sized);
  assert.equal(code({ extensions: apq(sized), variables: { n: 1_000_000 } }), 'OPERATION_LIMIT_EXCEEDED cost');
  const two = `query A { customers(first: 1) { id } } query B { ${Array.from({ length: 4 }, (_, i) => `r${i}: expensive`).join(' ')} }`;
  assert.equal(code({ query: two, extensions: apq(two), operationName: 'A' }), 'admitted');
  assert.equal(code({ extensions: apq(two), operationName: 'A' }), 'admitted');
  assert.equal(code({ extensions: apq(two), operationName: 'B' }), 'OPERATION_LIMIT_EXCEEDED aliases');
  // A query refused when it would be registered is not registered; nor one whose hash is not its own.
  const deep = `{ customers(first: 1) { bestFriend { bestFriend { bestFriend { bestFriend { id } } } } } }`;
  assert.equal(code({ query: deep, extensions: apq(deep) }), 'OPERATION_LIMIT_EXCEEDED depth');
  assert.equal(code({ extensions: apq(deep) }), 'PERSISTED_QUERY_NOT_FOUND');
  assert.equal(code({ query: sized.replace('Q', 'R'), extensions: apq('{ other }'), variables: { n: 1 } }), 'admitted');
  assert.equal(code({ extensions: apq('{ other }') }), 'PERSISTED_QUERY_NOT_FOUND');
  // Without limits, Apollo Server's own APQ answers a hash alone.
  assert.equal(admissionFor(SDL, {}, false).admit({ extensions: apq(sized) }).query, undefined);
});

test('a fragment that spreads itself is refused, not followed', { timeout: 10_000 }, () => {
  const admission = admissionFor();
  assert.equal(refusal(admission, '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }')?.['code'], 'BAD_REQUEST');
});

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
/** The operations the README shows: curl bodies, GET query strings, graphql-ws snippets and GraphQL blocks. */
const readmeOperations = [
  ...[...readme.matchAll(/"query":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string),
  ...[...readme.matchAll(/[?&]query=(%7B[^'&\s]+)/g)].map((m) => decodeURIComponent(m[1]!)),
  ...[...readme.matchAll(/query: `([^`]*)`/g)].map((m) => m[1]!),
  ...[...readme.matchAll(/^```graphql\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => /^\s*(query|mutation|subscription|\{)/.test(b)),
];

/** An admission of the committed supergraph under the default settings, as the gateway makes it. */
function defaultAdmission(): Admission {
  const supergraphSdl = readFileSync(join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
  return new Admission({
    enabled: true,
    apiSchema: apiSchemaOf(supergraphSdl),
    supergraphSdl,
    trustedRequired: false,
    limits: operationLimits(readGatewayConfig({ IDENTITY_SECRET: TEST_IDENTITY_SECRET }, [])),
  });
}

test("the default settings admit every operation in the README and the playground's introspection", { timeout: 20_000 }, () => {
  const admission = defaultAdmission();
  assert.ok(readmeOperations.length >= 5, `found ${readmeOperations.length} operations in the README`);
  for (const query of [...readmeOperations, getIntrospectionQuery()]) {
    assert.equal(refusal(admission, query), undefined, query);
  }
  // The federation benchmark's TestQuery (55 fields through its fragments) is within MAX_FIELDS; only
  // its cost (lists without slicing arguments nested four deep) is over, which is why the bench runs without limits.
  const bench = composeBenchSupergraph('http://127.0.0.1:1/graphql');
  const onBench = new Admission({ ...admission.options, apiSchema: apiSchemaOf(bench), supergraphSdl: bench });
  assert.equal(refusal(onBench, TEST_QUERY, undefined, 'TestQuery')?.['limit'], 'cost');
  const uncosted = new Admission({ ...onBench.options, limits: { ...onBench.options.limits, cost: Number.MAX_SAFE_INTEGER } });
  assert.equal(refusal(uncosted, TEST_QUERY, undefined, 'TestQuery'), undefined);
});

test('the MAX_* settings reach admission: each limit refuses at its configured value', { timeout: 10_000 }, () => {
  const settings = {
    MAX_DEPTH: 3,
    MAX_ALIASES: 2,
    MAX_ROOT_FIELDS: 2,
    MAX_FIELDS: 6,
    MAX_DIRECTIVES: 1,
    MAX_TOKENS: 60,
    MAX_DOCUMENT_BYTES: 200,
    MAX_COST: 20,
    DEFAULT_LIST_SIZE: 7,
  };
  const config = readGatewayConfig(
    { IDENTITY_SECRET: TEST_IDENTITY_SECRET, ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)])) },
    [],
  );
  const supergraphSdl = supergraphOf(SDL);
  const admission = admissionOn(config, apiSchemaOf(supergraphSdl), supergraphSdl, undefined);
  const refused: [string, string, number][] = [
    ['depth', '{ customers(first: 1) { bestFriend { bestFriend { id } } } }', settings.MAX_DEPTH],
    ['aliases', '{ customers(first: 1) { a: id b: id c: id } }', settings.MAX_ALIASES],
    ['rootFields', '{ expensive search customers(first: 0) { id } }', settings.MAX_ROOT_FIELDS],
    ['fields', '{ customers(first: 1) { id name ...F } } fragment F on Customer { id name bestFriend { id } }', settings.MAX_FIELDS],
    ['directives', '{ customers(first: 1) { id @include(if: true) @skip(if: false) } }', settings.MAX_DIRECTIVES],
    ['tokens', `query($v: [Int] = [${'1 '.repeat(60)}]) { __typename }`, settings.MAX_TOKENS],
    ['documentBytes', `{ __typename }${' '.repeat(200)}`, settings.MAX_DOCUMENT_BYTES],
    // 3 × (1 + DEFAULT_LIST_SIZE friends) = 24.
    ['cost', '{ customers(first: 3) { friends { id } } }', settings.MAX_COST],
  ];
  for (const [limit, query, max] of refused) {
    assert.deepEqual(refusal(admission, query), { code: 'OPERATION_LIMIT_EXCEEDED', limit, max }, limit);
  }
  assert.equal(refusal(admission, '{ customers(first: 2) { friends { id } } }'), undefined, '2 × (1 + DEFAULT_LIST_SIZE) = 16');
  const off = admissionOn(
    readGatewayConfig({ IDENTITY_SECRET: TEST_IDENTITY_SECRET, MAX_DEPTH: '3', OPERATION_LIMITS: 'false' }, []),
    apiSchemaOf(supergraphSdl),
    supergraphSdl,
    undefined,
  );
  assert.equal(refusal(off, refused[0]![1]), undefined, 'OPERATION_LIMITS=false');
});

test('trusted documents: found by id or by hash; when required, only bodies in the manifest run', { timeout: 10_000 }, () => {
  const body = '{ customers(first: 2) { id } }';
  const sized = 'query Q($n: Int) { customers(first: $n) { id } }';
  const trusted = trustedDocuments({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: [
      { id: 'my-id', name: 'Two', type: 'query', body },
      { id: 'sized', name: 'Q', type: 'query', body: sized },
    ],
  });
  const supergraphSdl = supergraphOf(SDL);
  const make = (trustedRequired: boolean) =>
    new Admission({ enabled: true, limits: LIMITS, apiSchema: apiSchemaOf(supergraphSdl), supergraphSdl, trusted, trustedRequired });
  const open = make(false);
  assert.equal(open.admit({ documentId: 'my-id' }).query, body);
  assert.equal(open.admit({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(body) } } }).query, body);
  assert.equal(open.admit({ query: '{ __typename }' }).query, '{ __typename }');
  // A hash alone that is neither a trusted document nor a registered APQ query.
  assert.throws(
    () => open.admit({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ x }') } } }),
    /PersistedQueryNotFound/,
  );
  // A trusted document named by id is admitted with the request's own variables.
  assert.equal(open.admit({ documentId: 'sized', variables: { n: 2 } }).query, sized);
  assert.equal(
    (() => {
      try {
        return open.admit({ documentId: 'sized', variables: { n: 1_000 } });
      } catch (err) {
        return (err as { extensions: Record<string, unknown> }).extensions['limit'];
      }
    })(),
    'cost',
  );
  const required = make(true);
  assert.equal(required.admit({ query: body }).query, body);
  assert.equal(refusal(required, '{ __typename }')?.['code'], 'PERSISTED_QUERY_NOT_IN_LIST');
  assert.throws(() => required.admit({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ x }') } } }), /trusted documents/);
  assert.throws(() => trustedDocuments({ format: 'something else', version: 1, operations: [] }));
});

test("the issue's bombs are refused under the default settings (time printed, not asserted)", { timeout: 30_000 }, (t) => {
  const admission = defaultAdmission();
  for (const [name, query] of Object.entries(BOMBS)) {
    const started = performance.now();
    const refused = refusal(admission, query);
    const ms = performance.now() - started;
    assert.equal(refused?.['code'], 'OPERATION_LIMIT_EXCEEDED', name);
    t.diagnostic(`${name} (${Buffer.byteLength(query)} bytes): refused by ${String(refused?.['limit'])} in ${ms.toFixed(1)} ms`);
  }
  // Without the size limits, the single pass still measures each of them in time linear in the document
  // (the fragment chain is harmless by its measures: it is refused above for its size).
  const unbounded = new Admission({ ...admission.options, limits: { ...admission.options.limits, tokens: 1e9, documentBytes: 1e9 } });
  for (const [name, query] of Object.entries(BOMBS)) {
    const started = performance.now();
    const refused = refusal(unbounded, query);
    const ms = performance.now() - started;
    t.diagnostic(
      `  without the size limits: ${name}: ${refused ? `${String(refused['code'])} ${String(refused['limit'] ?? '')}` : 'admitted'} in ${ms.toFixed(1)} ms`,
    );
  }
});
