/**
 * The four subgraphs of the public federation gateways benchmark (accounts, inventory, products,
 * reviews), re-created: the same schemas and the same data, so its `TestQuery` (query.ts) answers
 * with the same shape and about the same size (~87 KB). Written as Federation 2 SDL; composed they
 * give the benchmark's supergraph (supergraph.ts).
 *
 * The shape that makes the response large: every user's `reviews` are the first two reviews (both of
 * product 1), every review's `author` is user 1 (its `username` provided by the reviews subgraph),
 * and product 1 has four reviews, so the nesting multiplies.
 *
 * One difference from the published subgraphs: there, the inventory subgraph ignores the `price` and
 * `weight` it is sent for `shippingEstimate` (`@requires`), so the field is always null; here it is
 * computed from them (0 above a price of 1000, else half the weight), so a gateway that fails to pass
 * the required fields shows in the data. The response grows by a few bytes per product.
 *
 * Its subscription, as the benchmark's reviews subgraph has it: `reviewAdded: Review`, each event a
 * review whose product's name and price come from the products subgraph (an entity fetch per event).
 * A review here also has `createdAt`, the moment its event was published (epoch ms): what the bench
 * measures delivery latency from. Events come from a `ReviewEvents` the caller publishes to.
 */
import { EventEmitter, on } from 'node:events';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { parse, type GraphQLSchema } from 'graphql';

export const SUBGRAPH_NAMES = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type BenchSubgraphName = (typeof SUBGRAPH_NAMES)[number];

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])`;

export const SUBGRAPH_SDL: Record<BenchSubgraphName, string> = {
  accounts: `${LINK}
    type Query {
      me: User
      user(id: ID!): User
      users: [User]
    }
    type User @key(fields: "id") {
      id: ID!
      name: String
      # Shareable: the reviews subgraph provides it on a review's author (the published subgraphs are Federation 1, where every field is).
      username: String @shareable
      birthday: Int
    }`,
  inventory: `${LINK}
    type Product @key(fields: "upc") {
      upc: String!
      weight: Int @external
      price: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }`,
  products: `${LINK}
    type Query {
      topProducts(first: Int = 5): [Product]
    }
    type Product @key(fields: "upc") {
      upc: String!
      name: String
      price: Int
      weight: Int
    }`,
  reviews: `${LINK}
    type Subscription {
      reviewAdded: Review
    }
    type Review @key(fields: "id") {
      id: ID!
      body: String
      # When the review's event was published, in ms since the epoch (null for reviews not published as events).
      createdAt: Float
      product: Product
      author: User @provides(fields: "username")
    }
    type User @key(fields: "id") {
      id: ID!
      username: String @external
      reviews: [Review]
    }
    type Product @key(fields: "upc") {
      upc: String!
      reviews: [Review]
    }`,
};

interface User {
  id: string;
  name: string;
  username: string;
  birthday: number;
}
const users: User[] = [
  ['1', 'Uri Goldshtein', 'urigo'],
  ['2', 'Dotan Simha', 'dotansimha'],
  ['3', 'Kamil Kisiela', 'kamilkisiela'],
  ['4', 'Arda Tanrikulu', 'ardatan'],
  ['5', 'Gil Gardosh', 'gilgardosh'],
  ['6', 'Laurin Quast', 'laurin'],
].map(([id, name, username]) => ({ id: id!, name: name!, username: username!, birthday: 1234567890 }));

interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
}
const products: Product[] = (
  [
    ['Table', 899, 100],
    ['Couch', 1299, 1000],
    ['Glass', 15, 20],
    ['Chair', 499, 100],
    ['TV', 1299, 1000],
    ['Lamp', 6999, 300],
    ['Grill', 3999, 2000],
    ['Fridge', 100000, 6000],
    ['Sofa', 9999, 800],
  ] as const
).map(([name, price, weight], i) => ({ upc: String(i + 1), name, price, weight }));

/** In stock, by upc. */
const inStock = new Map(products.map((p, i) => [p.upc, [true, false, false, false, true, true, true, false, true][i]!]));

// The review bodies: passages of the classic "Lorem ipsum" filler, of the published lengths.
const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ' +
  'Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure ' +
  'dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non ' +
  'proident, sunt in culpa qui officia deserunt mollit anim id est laborum.';
const SED_UT =
  'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam, eaque ipsa ' +
  'quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo. Nemo enim ipsam voluptatem quia ' +
  'voluptas sit aspernatur aut odit aut fugi';
const SED_QUIA =
  'sed quia consequuntur magni dolores eos qui ratione voluptatem sequi nesciunt. Neque porro quisquam est, qui dolorem ipsum ' +
  'quia dolor sit amet, consectetur, adipisci velit, sed quia non numquam eius modi tempora incidunt ut labore et dolore magnam ' +
  'aliquam quaerat voluptatem.';
const UT_ENIM =
  'Ut enim ad minima veniam, quis nostrum exercitationem ullam corporis suscipit laboriosam, nisi ut aliquid ex ea commodi consequatur? Quis autem';
const AT_VERO =
  'At vero eos et accusamus et iusto odio dignissimos ducimus qui blanditiis praesentium voluptatum deleniti atque corrupti quos ' +
  'dolores et quas molestias excepturi sint occaecati cupiditate non provident, similique sunt in culpa qui officia deserunt ' +
  'mollitia animi, id est laborum et dolorum fuga. Et harum quidem rerum facilis est et expedita distinctio. Nam libero tempore, ' +
  'cum soluta nobis est eligendi optio cumque nihil impedit quo minus id quod maxime placeat facere possimus, omnis voluptas ' +
  'assumenda est, omnis dolor repellendus. Temporibus autem quibusdam et aut officiis debitis aut rerum necessitatibus saepe ' +
  'eveniet ut et voluptates repudiandae sint et molestiae non recusandae. Itaque earum rerum hic tenetur a sapiente delectus, ut ' +
  'aut reiciendis voluptatibus maiores alias consequatur aut perferendis doloribus asperiores repellat.';

interface Review {
  id: string;
  body: string;
  upc: string;
}
const reviews: Review[] = (
  [
    [LOREM, '1'],
    [SED_UT, '1'],
    [SED_QUIA, '1'],
    [UT_ENIM, '1'],
    [LOREM, '2'],
    [SED_UT, '2'],
    [SED_QUIA, '2'],
    [UT_ENIM, '2'],
    [UT_ENIM, '3'],
    [UT_ENIM, '4'],
    [AT_VERO, '4'],
  ] as const
).map(([body, upc], i) => ({ id: String(i + 1), body, upc }));

const byKey = <T>(items: T[], key: (item: T) => string) => new Map(items.map((item) => [key(item), item]));
const usersById = byKey(users, (u) => u.id);
const productsByUpc = byKey(products, (p) => p.upc);
const reviewsById = byKey(reviews, (r) => r.id);

/** A review as the reviews subgraph serves it: its author is always user 1, with the username it provides. */
const reviewEntity = (review: Review) => ({
  id: review.id,
  body: review.body,
  product: { upc: review.upc },
  author: { id: '1', username: 'urigo' },
});
/** Every user's reviews, in this data: the first two. */
const userReviews = () => reviews.slice(0, 2).map(reviewEntity);

/** A review published as a `reviewAdded` event. */
export type ReviewEvent = ReturnType<typeof reviewEntity> & { createdAt: number };

const REVIEW_EVENT = 'review';

/**
 * The reviews subgraph's `reviewAdded` events: `publish` sends the next review (the data's reviews in
 * turn) to every open subscription, stamped with the time it was published.
 */
export class ReviewEvents {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private next = 0;
  published = 0;

  /** Open `reviewAdded` subscriptions. */
  get subscriptions(): number {
    return this.emitter.listenerCount(REVIEW_EVENT);
  }

  publish(): ReviewEvent {
    const event = { ...reviewEntity(reviews[this.next++ % reviews.length]!), createdAt: Date.now() };
    this.published++;
    this.emitter.emit(REVIEW_EVENT, event);
    return event;
  }

  /** One subscription's events; its listener goes when the subscription ends (`return`). */
  subscribe(): AsyncIterator<[ReviewEvent]> {
    return on(this.emitter, REVIEW_EVENT) as AsyncIterator<[ReviewEvent]>;
  }
}

const resolvers = (events: ReviewEvents): Record<BenchSubgraphName, GraphQLResolverMap<unknown>> => ({
  accounts: {
    Query: {
      me: () => users[0],
      user: (_: unknown, { id }: { id: string }) => usersById.get(id) ?? null,
      users: () => users,
    },
    User: { __resolveReference: ({ id }: { id: string }) => usersById.get(id) ?? null },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: { upc: string; price?: number | null; weight?: number | null }) => ({
        ...ref,
        inStock: inStock.get(ref.upc) ?? null,
      }),
      shippingEstimate: ({ price, weight }: { price?: number | null; weight?: number | null }) => {
        if (typeof price !== 'number') return null;
        if (price > 1000) return 0;
        return typeof weight === 'number' ? Math.floor(weight / 2) : null;
      },
    },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first?: number | null }) => products.slice(0, first ?? 5) },
    Product: { __resolveReference: ({ upc }: { upc: string }) => productsByUpc.get(upc) ?? null },
  },
  reviews: {
    Subscription: {
      reviewAdded: { subscribe: () => events.subscribe(), resolve: ([event]: [ReviewEvent]) => event },
    },
    Review: { __resolveReference: ({ id }: { id: string }) => (reviewsById.has(id) ? reviewEntity(reviewsById.get(id)!) : null) },
    User: { __resolveReference: ({ id }: { id: string }) => ({ id }), reviews: userReviews },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
      reviews: ({ upc }: { upc: string }) => reviews.filter((r) => r.upc === upc).map(reviewEntity),
    },
  },
});

/** The executable schema of each subgraph; the reviews subgraph's `reviewAdded` serves what `events` publishes. */
export function buildBenchSubgraphs(events: ReviewEvents = new ReviewEvents()): Record<BenchSubgraphName, GraphQLSchema> {
  const resolverMap = resolvers(events);
  return Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [name, buildSubgraphSchema([{ typeDefs: parse(SUBGRAPH_SDL[name]), resolvers: resolverMap[name] }])]),
  ) as Record<BenchSubgraphName, GraphQLSchema>;
}
