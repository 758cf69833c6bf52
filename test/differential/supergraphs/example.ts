/**
 * A small faithful copy of the example system's supergraph (schema/subgraphs/): the customers,
 * catalog and orders subgraphs with their types, keys (`resolvable: false` references included),
 * enums, arguments, `@listSize`, the mutations and the subscription root, on in-memory data. Left
 * out: `@authenticated`/`@requiresScopes` (stock `@apollo/gateway` refuses a supergraph that links
 * them; Interchange enforces them itself and test/gateway/authorization.test.ts covers that) and
 * `@resumable` (subscriptions are not part of this corpus: stock cannot run them).
 */
import { GraphQLError } from 'graphql';
import type { Case, SupergraphDef } from '../harness.ts';

const LINK = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: [${imports.map((i) => `"${i}"`).join(', ')}])`;

const products = [
  { id: 'p1', name: 'Espresso machine', priceCents: 24_900, stock: 4 },
  { id: 'p2', name: 'Grinder', priceCents: 12_900, stock: 0 },
  { id: 'p3', name: 'Beans', priceCents: 1_500, stock: 120 },
  { id: 'p4', name: 'Cups', priceCents: 900, stock: 33 },
];
const customers = [
  { id: 'c1', name: 'Ada', email: 'ada@example.com', tier: 'GOLD', favorites: ['p1', 'p3'] },
  { id: 'c2', name: 'Bo', email: 'bo@example.com', tier: 'STANDARD', favorites: [] },
  { id: 'c3', name: 'Cy', email: 'cy@example.com', tier: 'PLATINUM', favorites: ['p4', 'p9'] },
];
type Line = { productId: string; quantity: number; unitPriceCents: number };
const line = (productId: string, quantity: number): Line => ({
  productId,
  quantity,
  unitPriceCents: products.find((p) => p.id === productId)?.priceCents ?? 100,
});
const orders = [
  { id: 'o1', status: 'PAID', customerId: 'c1', lines: [line('p1', 1), line('p3', 2)], at: 1 },
  { id: 'o2', status: 'PLACED', customerId: 'c1', lines: [line('p3', 5)], at: 2 },
  { id: 'o3', status: 'SHIPPED', customerId: 'c2', lines: [line('p2', 1)], at: 3 },
  { id: 'o4', status: 'CANCELLED', customerId: 'c3', lines: [line('p4', 6), line('p1', 1)], at: 4 },
  // A line for a product the catalog no longer has: its `product: Product!` cannot resolve.
  { id: 'o5', status: 'PLACED', customerId: 'c3', lines: [line('p9', 1), line('p4', 1)], at: 5 },
];
type Order = (typeof orders)[number];
const byId = <T extends { id: string }>(items: T[], id: string) => items.find((i) => i.id === id) ?? null;
const newestFirst = (list: Order[]) => [...list].sort((a, b) => b.at - a.at);
const firstChecked = (first: number) => {
  if (first < 1 || first > 100) throw new GraphQLError('`first` must be between 1 and 100', { extensions: { code: 'BAD_USER_INPUT' } });
  return first;
};

/**
 * Interchange refuses a document whose operation cannot be chosen, and a subscription sent as a plain
 * HTTP request, with its own BAD_REQUEST (and HTTP 400) before planning (gateway/src/operation-guard.ts),
 * where stock answers INVALID_GRAPHQL (HTTP 500), or INTERNAL_SERVER_ERROR for the subscription.
 */
const operationGuard = (message: string): NonNullable<Case['interchange']> => ({
  why: 'gateway/src/operation-guard.ts refuses what stock would answer with HTTP 500 with BAD_REQUEST',
  expected: () => ({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }),
});

export const example: SupergraphDef = {
  name: 'example',
  covers: "the example system's supergraph (customers, catalog, orders), mutations included",
  subgraphs: [
    {
      name: 'catalog',
      typeDefs: `
        ${LINK(['@key', '@listSize'])}
        type Query {
          product(id: ID!): Product
          products(first: Int = 20): [Product!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
        }
        type Product @key(fields: "id") { id: ID! name: String! priceCents: Int! stock: Int! }
      `,
      resolvers: {
        Query: {
          product: (_: unknown, { id }: { id: string }) => byId(products, id),
          products: (_: unknown, { first }: { first: number }) => products.slice(0, firstChecked(first)),
        },
        Product: { __resolveReference: ({ id }: { id: string }) => byId(products, id) },
      },
    },
    {
      name: 'customers',
      typeDefs: `
        ${LINK(['@key', '@listSize'])}
        type Query {
          customer(id: ID!): Customer
          customers(first: Int = 20): [Customer!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
        }
        enum CustomerTier { STANDARD GOLD PLATINUM }
        type Customer @key(fields: "id") {
          id: ID!
          name: String!
          email: String
          tier: CustomerTier!
          favoriteProducts: [Product!] @listSize(assumedSize: 5)
        }
        type Product @key(fields: "id", resolvable: false) { id: ID! }
      `,
      resolvers: {
        Query: {
          customer: (_: unknown, { id }: { id: string }) => byId(customers, id),
          customers: (_: unknown, { first }: { first: number }) => customers.slice(0, firstChecked(first)),
        },
        Customer: {
          __resolveReference: ({ id }: { id: string }) => byId(customers, id),
          favoriteProducts: (c: { favorites: string[] }) => c.favorites.map((id) => ({ id })),
        },
      },
    },
    {
      name: 'orders',
      typeDefs: `
        ${LINK(['@key', '@cost', '@listSize'])}
        type Query {
          order(id: ID!): Order
          orders(status: OrderStatus, first: Int = 20): [Order!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
        }
        type Mutation {
          placeOrder(input: PlaceOrderInput!): Order! @cost(weight: 10)
          cancelOrder(id: ID!): Order! @cost(weight: 10)
        }
        type Subscription { orderEvents(customerId: ID, types: [OrderEventType!], after: String): OrderEvent! }
        enum OrderEventType { PLACED PAID SHIPPED CANCELLED }
        type OrderEvent { cursor: String! id: ID! type: OrderEventType! occurredAt: String! order: Order! }
        enum OrderStatus { PLACED PAID SHIPPED CANCELLED }
        type Order @key(fields: "id") {
          id: ID!
          status: OrderStatus!
          customer: Customer!
          lines: [OrderLine!]! @listSize(assumedSize: 10)
          totalCents: Int!
          placedAt: String!
          updatedAt: String!
          version: Int!
        }
        type OrderLine { product: Product! quantity: Int! unitPriceCents: Int! }
        input OrderLineInput { productId: ID! quantity: Int! }
        input PlaceOrderInput { customerId: ID! lines: [OrderLineInput!]! idempotencyKey: String }
        type Customer @key(fields: "id") {
          id: ID!
          orders(status: OrderStatus, first: Int = 20): [Order!] @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
        }
        type Product @key(fields: "id", resolvable: false) { id: ID! }
      `,
      resolvers: {
        Query: {
          order: (_: unknown, { id }: { id: string }) => byId(orders, id),
          orders: (_: unknown, { status, first }: { status?: string; first: number }) =>
            newestFirst(orders.filter((o) => !status || o.status === status)).slice(0, firstChecked(first)),
        },
        Mutation: {
          // Computed, never stored: every case sees the same data.
          placeOrder: (_: unknown, { input }: { input: { customerId: string; lines: { productId: string; quantity: number }[] } }) => {
            if (input.lines.length === 0)
              throw new GraphQLError('an order needs at least one line', { extensions: { code: 'BAD_USER_INPUT' } });
            return {
              id: 'o-new',
              status: 'PLACED',
              customerId: input.customerId,
              lines: input.lines.map((l) => line(l.productId, l.quantity)),
              at: 9,
            };
          },
          cancelOrder: (_: unknown, { id }: { id: string }) => {
            const order = byId(orders, id);
            if (!order) throw new GraphQLError(`no order ${id}`, { extensions: { code: 'NOT_FOUND' } });
            if (order.status === 'SHIPPED')
              throw new GraphQLError('a shipped order cannot be cancelled', { extensions: { code: 'ORDER_SHIPPED' } });
            return { ...order, status: 'CANCELLED', at: order.at + 1 };
          },
        },
        Subscription: { orderEvents: { subscribe: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) }) } },
        Order: {
          __resolveReference: ({ id }: { id: string }) => byId(orders, id),
          customer: (o: Order) => ({ id: o.customerId }),
          lines: (o: Order) => o.lines,
          totalCents: (o: Order) => o.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
          placedAt: (o: Order) => new Date(Date.UTC(2026, 0, o.at)).toISOString(),
          updatedAt: (o: Order) => new Date(Date.UTC(2026, 0, o.at, 12)).toISOString(),
          version: (o: Order) => ({ PLACED: 1, PAID: 2, SHIPPED: 3, CANCELLED: 2 })[o.status],
        },
        OrderLine: { product: (l: Line) => ({ id: l.productId }) },
        Customer: {
          orders: ({ id }: { id: string }, { status, first }: { status?: string; first: number }) =>
            newestFirst(orders.filter((o) => o.customerId === id && (!status || o.status === status))).slice(0, firstChecked(first)),
        },
      },
    },
  ],
  cases: [
    {
      name: 'README: a customer with orders and products',
      query: '{ customer(id: "c1") { name tier orders { id status totalCents lines { quantity product { name stock } } } } }',
    },
    {
      name: 'order with its customer and favourites',
      query: '{ order(id: "o1") { status customer { name favoriteProducts { name priceCents } } } }',
    },
    {
      name: 'orders by status, first 2',
      query: '{ orders(status: PLACED, first: 2) { id placedAt updatedAt version customer { name } } }',
    },
    {
      name: 'order whose product is gone: Product! nulls the line list up to the order',
      query: '{ order(id: "o5") { id lines { quantity product { id name } } } }',
    },
    {
      name: 'favourite product that is gone: [Product!] nulls the list',
      query: '{ customer(id: "c3") { name favoriteProducts { id name } } }',
    },
    { name: 'first out of range is BAD_USER_INPUT from the subgraph', query: '{ products(first: 0) { id } }' },
    { name: 'nested first out of range', query: '{ customers { id orders(first: 500) { id } } }' },
    {
      name: 'customers with enum filter variable',
      query: 'query($s: OrderStatus) { customers(first: 3) { id orders(status: $s) { id status } } }',
      variables: { s: 'PAID' },
    },
    { name: 'unknown order', query: '{ order(id: "o404") { id customer { name } } }' },
    {
      name: 'placeOrder with an input variable',
      query:
        'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status totalCents customer { name tier } lines { quantity unitPriceCents product { name } } } }',
      variables: {
        input: {
          customerId: 'c2',
          lines: [
            { productId: 'p3', quantity: 3 },
            { productId: 'p4', quantity: 1 },
          ],
          idempotencyKey: 'k-1',
        },
      },
    },
    {
      name: 'placeOrder with an inline input',
      query: 'mutation { placeOrder(input: { customerId: "c1", lines: [{ productId: "p1", quantity: 1 }] }) { id totalCents } }',
    },
    { name: 'placeOrder refused by the subgraph', query: 'mutation { placeOrder(input: { customerId: "c1", lines: [] }) { id } }' },
    {
      name: 'cancelOrder twice in one mutation, one refused',
      query: 'mutation { a: cancelOrder(id: "o2") { id status version } b: cancelOrder(id: "o3") { id } }',
    },
    {
      name: 'the playground example with fragments and aliases',
      query: `query Dashboard($id: ID!, $withLines: Boolean = true) {
        me: customer(id: $id) { ...Who recent: orders(first: 1) { ...OrderSummary } }
        catalog: products(first: 2) { id name }
      }
      fragment Who on Customer { id name tier }
      fragment OrderSummary on Order { id status totalCents lines @include(if: $withLines) { quantity product { name } } }`,
      variables: { id: 'c1' },
    },
    {
      name: 'introspection: a type and its fields',
      query: '{ __type(name: "Order") { name kind fields { name type { kind name ofType { name } } } } }',
    },
    {
      name: 'introspection: the schema roots and enums',
      query:
        '{ __schema { queryType { name } mutationType { name } subscriptionType { name } } __type(name: "OrderStatus") { enumValues { name } } }',
    },
    {
      name: 'typename at the root and in a fragment on Query',
      query: '{ __typename ... on Query { product(id: "p1") { __typename id } } }',
    },
    { name: 'request error: an unknown field', query: '{ product(id: "p1") { id nam } }', requestError: true },
    { name: 'request error: a syntax error', query: '{ product(id: "p1") { id ', requestError: true },
    { name: 'request error: a missing required variable', query: 'query($id: ID!) { order(id: $id) { id } }', requestError: true },
    {
      name: 'request error: a variable of the wrong type',
      query: 'query($n: Int) { products(first: $n) { id } }',
      variables: { n: 'many' },
      requestError: true,
    },
    { name: 'request error: an enum value that does not exist', query: '{ orders(status: LOST) { id } }', requestError: true },
    { name: 'request error: an unknown fragment', query: '{ customers { ...Missing } }', requestError: true },
    {
      name: 'operationName picks one of two operations',
      query: 'query A { products { id } } query B { customers { id } }',
      operationName: 'B',
    },
    {
      name: 'request error: two operations and no operationName',
      query: 'query A { products { id } } query B { customers { id } }',
      requestError: true,
      interchange: operationGuard('the document has several operations: name the one to run in `operationName`'),
    },
    {
      name: 'request error: an operationName the document does not have',
      query: 'query A { products { id } }',
      operationName: 'C',
      requestError: true,
      interchange: operationGuard('the document has no operation named "C"'),
    },
    {
      name: 'request error: a subscription as a plain HTTP request',
      query: 'subscription { orderEvents { id type } }',
      requestError: true,
      interchange: operationGuard(
        'subscriptions run over WebSocket (graphql-ws) on this path or over Server-Sent Events on /graphql/stream, not as a plain HTTP request',
      ),
    },
  ],
  generate: {
    count: 40,
    depth: 5,
    values: {
      'Query.product.id': ['p1', 'p2', 'p9'],
      'Query.customer.id': ['c1', 'c2', 'c3', 'c9'],
      'Query.order.id': ['o1', 'o3', 'o5', 'o9'],
      ID: ['p1', 'c1', 'o1'],
      Int: [1, 2, 3, 20],
    },
  },
};
