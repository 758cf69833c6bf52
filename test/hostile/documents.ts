/**
 * Generators of hostile GraphQL documents: each makes one document of a given size, so the corpus
 * can name sizes instead of holding kilobytes of literal text.
 */

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The field the issue's alias bomb repeated (1,000 of them: 59 s of gateway time on main at 9080524). */
export const HEAVY_FIELD = 'customers(first: 100) { favoriteProducts { name } }';

/** `n` aliases of `field` in one operation (`keyword` query or subscription). */
export function aliasBomb(n: number, field: string, keyword = 'query'): string {
  return `${keyword} { ${range(n)
    .map((i) => `a${i}: ${field}`)
    .join(' ')} }`;
}

/**
 * Fragments that each spread the previous one `fanout` times, `levels` deep: a small document whose
 * expansion is fanout^levels selections.
 */
export function fragmentBomb(levels: number, fanout: number): string {
  const fragments = [`fragment F0 on Query { customers(first: 100) { id favoriteProducts { name } } }`];
  for (const level of range(levels).map((i) => i + 1))
    fragments.push(
      `fragment F${level} on Query { ${range(fanout)
        .map(() => `...F${level - 1}`)
        .join(' ')} }`,
    );
  return `query { ...F${levels} } ${fragments.join(' ')}`;
}

/**
 * Below one root field, fragments that each spread the next twice, `levels` deep, ending in one
 * scalar field: 2^levels selections that cost nothing and are one level deep, yet graphql-js's
 * validation and the planner walk them all (a query of 20 levels, 899 bytes, took 12.7 s; a
 * subscription of 22 held the event loop 86 s in the subscription planner).
 */
export function scalarFragmentBomb(levels: number, keyword: 'query' | 'subscription' = 'query'): string {
  const [root, type, leaf] = keyword === 'query' ? ['customers(first: 1)', 'Customer', 'name'] : ['orderEvents', 'OrderEvent', 'cursor'];
  const fragments = range(levels).map((i) => `fragment F${i} on ${type} { ...F${i + 1} ...F${i + 1} }`);
  return `${keyword} { ${root} { ...F0 } } ${fragments.join(' ')} fragment F${levels} on ${type} { ${leaf} }`;
}

/** A chain of `length` fragments, each spreading the next once (a long chain gave 500 on main). */
export function fragmentChain(length: number): string {
  const fragments = range(length).map((i) => `fragment F${i} on Query { ...F${i + 1} }`);
  return `query { ...F0 } ${fragments.join(' ')} fragment F${length} on Query { products(first: 1) { id } }`;
}

/** Fragments that spread each other in a cycle of `length` (invalid: never terminates if expanded). */
export function fragmentCycle(length: number): string {
  const fragments = range(length).map((i) => `fragment F${i} on Query { ...F${(i + 1) % length} }`);
  return `query { ...F0 } ${fragments.join(' ')}`;
}

/** `levels` fields of customer -> orders -> customer -> ... ending in `id`. */
function customerOrders(levels: number): string {
  let inner = 'id';
  for (let level = levels; level > 0; level--) inner = level % 2 === 1 ? `orders(first: 1) { ${inner} }` : `customer { ${inner} }`;
  return inner;
}

/** A query `depth` fields deep: customer -> orders -> customer -> ... */
export function deepNesting(depth: number): string {
  return `query { customer(id: "c1") { ${customerOrders(depth - 1)} } }`;
}

/** A subscription `depth` fields deep: orderEvents -> order -> customer -> orders -> ... */
export function deepSubscription(depth: number): string {
  return `subscription { orderEvents { order { customer { ${customerOrders(depth - 3)} } } } }`;
}

/** Inline fragments on Query nested `depth` times around one field. */
export function nestedInlineFragments(depth: number): string {
  return `{ ${'... on Query { '.repeat(depth)}__typename${' }'.repeat(depth)} }`;
}

/** `n` root selections of the same field (merged into one, but each is parsed, counted and validated). */
export function manyRootFields(n: number): string {
  return `{ ${range(n)
    .map(() => 'products(first: 1) { id }')
    .join(' ')} }`;
}

/** `n` directives on one field: `@include(if: true)` repeated, or a rotation of different ones. */
export function manyDirectives(n: number, kind: 'repeated' | 'unknown' | 'spread-over-aliases'): string {
  if (kind === 'spread-over-aliases')
    return `{ ${range(n)
      .map((i) => `d${i}: __typename @skip(if: false)`)
      .join(' ')} }`;
  const directive = kind === 'repeated' ? '@include(if: true)' : '@hostile';
  return `{ __typename ${range(n)
    .map(() => directive)
    .join(' ')} }`;
}

/** A variable default that is a list of `n` numbers: `n` tokens in a document with one field. */
export function tokenFlood(n: number): string {
  return `query Flood($v: [Int] = [${range(n).join(',')}]) { __typename }`;
}

/** A valid one-field query padded with a comment to about `bytes` bytes (size, not tokens). */
export function paddedDocument(bytes: number): string {
  const core = '{ __typename }\n';
  return `#${'x'.repeat(Math.max(0, bytes - core.length - 2))}\n${core}`;
}

/** `n` operations in one document (named or not), none chosen. */
export function severalOperations(n: number, named: boolean): string {
  return range(n)
    .map((i) => `query${named ? ` Q${i}` : ''} { products(first: 1) { id } }`)
    .join(' ');
}

/** A JSON request body. */
export const gqlBody = (query: string, variables?: unknown, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ query, ...(variables !== undefined && { variables }), ...extra });
