/**
 * Entities across four subgraphs: `@requires` on fields with arguments and `@requires` of a field
 * with an argument, `@provides`, `@override` (the overridden field is never asked), `@shareable`
 * value types and fields resolvable in two subgraphs, and entity chains that cross every subgraph
 * more than once (store -> owner -> company -> headquarters -> stores -> products -> warehouse).
 */
import type { Result, SupergraphDef } from '../harness.ts';

const LINK = (imports: string[]) =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports.map((i) => `"${i}"`).join(', ')}])`;

const stores = [
  { id: 's1', name: 'North', ownerId: 'u1', city: 'Oslo', country: 'NO', skus: ['k1', 'k2', 'k3'] },
  { id: 's2', name: 'South', ownerId: 'u2', city: 'Rome', country: 'IT', skus: ['k2', 'k4'] },
  { id: 's3', name: 'East', ownerId: 'u1', city: 'Riga', country: 'LV', skus: [] },
];
const products = [
  { sku: 'k1', name: 'Kettle', price: 30, weight: 2, warehouseId: 'w1' },
  { sku: 'k2', name: 'Knife', price: 12, weight: 1, warehouseId: 'w2' },
  { sku: 'k3', name: 'Kayak', price: 900, weight: 25, warehouseId: 'w1' },
  { sku: 'k4', name: 'Kite', price: 45, weight: 3, warehouseId: 'w3' },
];
const people = [
  { id: 'u1', name: 'Ada', companyId: 'c1' },
  { id: 'u2', name: 'Bo', companyId: 'c2' },
  { id: 'u3', name: 'Cy', companyId: 'c1' },
];
const companies = [
  { id: 'c1', name: 'Acme', hqStoreId: 's1' },
  { id: 'c2', name: 'Globex', hqStoreId: 's2' },
];
const warehouses = [
  { id: 'w1', zone: 'NEAR', managerId: 'u3' },
  { id: 'w2', zone: 'FAR', managerId: 'u2' },
  { id: 'w3', zone: 'FAR', managerId: 'u1' },
];
const product = (sku: string) => products.find((p) => p.sku === sku) ?? null;
const store = (id: string) => stores.find((s) => s.id === id) ?? null;
const RATES: Record<string, number> = { USD: 1, EUR: 0.9, NOK: 10 };

export const entities: SupergraphDef = {
  name: 'entities',
  covers: '@requires (with arguments), @provides, @override, @shareable, nested entity chains',
  subgraphs: [
    {
      name: 'shop',
      typeDefs: `
        ${LINK(['@key', '@shareable'])}
        type Query { stores: [Store!]! store(id: ID!): Store products: [Product!]! }
        type Store @key(fields: "id") { id: ID! name: String! location: Location! products: [Product!]! owner: Person! }
        type Location @shareable { city: String! country: String! }
        type Product @key(fields: "sku") {
          sku: ID!
          name: String! @shareable
          price(currency: Currency = USD): Float!
          weight: Int!
          rating: Int
        }
        enum Currency { USD EUR NOK }
        type Person @key(fields: "id", resolvable: false) { id: ID! }
      `,
      resolvers: {
        Query: { stores: () => stores, store: (_: unknown, { id }: { id: string }) => store(id), products: () => products },
        Store: {
          __resolveReference: ({ id }: { id: string }) => store(id),
          location: (s: { city: string; country: string }) => ({ city: s.city, country: s.country }),
          products: (s: { skus: string[] }) => s.skus.map(product),
          owner: (s: { ownerId: string }) => ({ id: s.ownerId }),
        },
        Product: {
          __resolveReference: ({ sku }: { sku: string }) => product(sku),
          price: (p: { price: number }, { currency }: { currency: string }) => Math.round(p.price * RATES[currency]! * 100) / 100,
          rating: () => -1, // overridden by reviews: never asked
        },
      },
    },
    {
      name: 'ship',
      typeDefs: `
        ${LINK(['@key', '@external', '@requires', '@shareable'])}
        type Product @key(fields: "sku") {
          sku: ID!
          weight: Int! @external
          price(currency: Currency = USD): Float! @external
          shippingCost(express: Boolean = false): Float! @requires(fields: "weight")
          localPrice: String @requires(fields: "price(currency: NOK)")
          warehouse: Warehouse!
        }
        enum Currency { USD EUR NOK }
        type Warehouse @key(fields: "id") { id: ID! zone: String! manager: Person location: Location }
        type Location @shareable { city: String! country: String! }
        type Person @key(fields: "id", resolvable: false) { id: ID! }
      `,
      resolvers: {
        Product: {
          __resolveReference: (ref: { sku: string; weight?: number; price?: number }) => ({
            ...ref,
            warehouseId: product(ref.sku)?.warehouseId,
          }),
          shippingCost: (p: { weight: number }, { express }: { express: boolean }) => p.weight * (express ? 5 : 2),
          localPrice: (p: { price: number }) => `${p.price} kr`,
          warehouse: (p: { warehouseId: string }) => warehouses.find((w) => w.id === p.warehouseId),
        },
        Warehouse: {
          __resolveReference: ({ id }: { id: string }) => warehouses.find((w) => w.id === id),
          manager: (w: { managerId: string }) => ({ id: w.managerId }),
          location: (w: { zone: string }) => (w.zone === 'NEAR' ? { city: 'Oslo', country: 'NO' } : null),
        },
      },
    },
    {
      name: 'people',
      typeDefs: `
        ${LINK(['@key', '@external', '@provides', '@shareable'])}
        type Query { people: [Person!]! company(id: ID!): Company }
        type Person @key(fields: "id") { id: ID! name: String! company: Company @provides(fields: "name") }
        type Company @key(fields: "id") { id: ID! name: String! @external headquarters: Store employees: [Person!]! }
        type Store @key(fields: "id", resolvable: false) { id: ID! }
      `,
      resolvers: {
        Query: {
          people: () => people,
          company: (_: unknown, { id }: { id: string }) => companies.find((c) => c.id === id) ?? null,
        },
        Person: {
          __resolveReference: ({ id }: { id: string }) => people.find((p) => p.id === id),
          company: (p: { companyId: string }) => companies.find((c) => c.id === p.companyId),
        },
        Company: {
          __resolveReference: ({ id }: { id: string }) => companies.find((c) => c.id === id),
          headquarters: (c: { hqStoreId: string }) => ({ id: c.hqStoreId }),
          employees: (c: { id: string }) => people.filter((p) => p.companyId === c.id),
        },
      },
    },
    {
      name: 'registry',
      typeDefs: `
        ${LINK(['@key', '@shareable'])}
        type Company @key(fields: "id") { id: ID! name: String! @shareable founded: Int }
        type Query { companies: [Company!]! }
      `,
      resolvers: {
        Query: { companies: () => companies },
        Company: {
          __resolveReference: ({ id }: { id: string }) => companies.find((c) => c.id === id),
          founded: (c: { id: string }) => (c.id === 'c1' ? 1901 : 1989),
        },
      },
    },
    {
      name: 'reviews',
      typeDefs: `
        ${LINK(['@key', '@override', '@external', '@provides', '@shareable'])}
        type Product @key(fields: "sku") { sku: ID! rating: Int @override(from: "shop") name: String! @external topReview: Review }
        type Review { text: String! product: Product @provides(fields: "name") }
        type Query { reviews: [Review!]! }
      `,
      resolvers: {
        Query: { reviews: () => products.map((p) => ({ text: `on ${p.sku}`, sku: p.sku })) },
        Product: {
          __resolveReference: ({ sku }: { sku: string }) => ({ sku }),
          rating: ({ sku }: { sku: string }) => (sku === 'k3' ? null : Number(sku.slice(1)) + 1),
          topReview: ({ sku }: { sku: string }) => (sku === 'k4' ? null : { text: `best of ${sku}`, sku }),
        },
        Review: { product: (r: { sku: string }) => ({ sku: r.sku, name: `${product(r.sku)?.name} (provided)` }) },
      },
    },
  ],
  cases: [
    { name: '@requires on a field with an argument (default)', query: '{ products { sku shippingCost } }' },
    { name: '@requires on a field with an argument (given)', query: '{ products { sku shippingCost(express: true) } }' },
    {
      name: '@requires field with an argument as a variable, aliased twice',
      query: 'query($e: Boolean) { products { slow: shippingCost fast: shippingCost(express: $e) } }',
      variables: { e: true },
    },
    { name: '@requires of a field with an argument', query: '{ products { sku localPrice } }' },
    {
      name: '@requires of price(NOK) next to the client asking price(NOK)',
      query: '{ products { price(currency: NOK) localPrice } }',
    },
    {
      name: '@requires of price(NOK) next to the client asking price(EUR)',
      query: '{ products { price(currency: EUR) localPrice } }',
      defect: {
        why: "the planner merges the client's price(currency: EUR) into the @requires selection price(currency: NOK), and the client gets the NOK price",
        correct: {
          data: {
            products: products.map((p) => ({
              price: Math.round(p.price * RATES['EUR']! * 100) / 100,
              localPrice: `${p.price * RATES['NOK']!} kr`,
            })),
          },
        },
        stockGives: (r: Result) =>
          (r.data as { products: { price: number; localPrice: string }[] }).products.every((p) => `${p.price} kr` === p.localPrice),
      },
    },
    { name: 'price in every currency, aliased', query: '{ products { usd: price eur: price(currency: EUR) nok: price(currency: NOK) } }' },
    { name: '@override: rating from reviews', query: '{ products { sku rating } }' },
    { name: '@provides: name from the review itself', query: '{ reviews { text product { sku name } } }' },
    { name: '@provides not used when more is asked', query: '{ reviews { product { name price rating } } }' },
    { name: '@provides: company name from people', query: '{ people { name company { name } } }' },
    { name: 'company name and founded (shareable across people/registry)', query: '{ people { company { name founded } } }' },
    {
      name: '@shareable value type from two subgraphs',
      query: '{ stores { location { city } products { warehouse { location { city country } } } } }',
    },
    {
      name: 'chain: store -> owner -> company -> headquarters -> products -> warehouse -> manager',
      query: `{ stores { name owner { name company { name founded headquarters { name products { name shippingCost warehouse { zone manager { name company { id } } } } } } } } }`,
    },
    {
      name: 'chain back and forth with aliases and fragments',
      query: `query($id: ID!) { store(id: $id) { ...S owner { company { employees { name } headquarters { ...S } } } } }
        fragment S on Store { id name location { country } }`,
      variables: { id: 's2' },
    },
    { name: 'store without products', query: '{ store(id: "s3") { products { sku warehouse { id } } } }' },
    { name: 'unknown store', query: '{ store(id: "s404") { name owner { name } } }' },
    { name: 'unknown company', query: '{ company(id: "c404") { name } }' },
    {
      name: 'company from people with founded from registry',
      query: '{ company(id: "c2") { name founded employees { name } headquarters { name } } }',
    },
    { name: 'topReview null for one product', query: '{ products { sku topReview { text product { name rating } } } }' },
    {
      name: '@include deciding a @requires field',
      query: 'query($a: Boolean!, $b: Boolean!) { products { sku localPrice @include(if: $a) shippingCost @include(if: $b) } }',
      variables: { a: true, b: false },
    },
  ],
  generate: {
    // The planner defect of the case above, which stock answers wrongly: covered there, not generated.
    skip: (query) => query.includes('localPrice') && /\bprice\b/.test(query),
    count: 45,
    depth: 5,
    values: { ID: ['s1', 's2', 's3', 'c1', 'c2', 'x'], 'Query.store.id': ['s1', 's2', 's3', 's9'], 'Query.company.id': ['c1', 'c2', 'c9'] },
  },
};
