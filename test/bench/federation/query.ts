/**
 * The benchmark's operation, `TestQuery` of the public federation gateways benchmark (its text is
 * the contract: the same selections, fragments and nesting), and the request bodies the load sends.
 */

export const TEST_QUERY = `fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}`;

/** Identical requests: the same body every time (a gateway may deduplicate them). */
export const identicalBody = (): string => JSON.stringify({ query: TEST_QUERY, operationName: 'TestQuery' });

/** Where a unique id goes in a unique request's body (autocannon's `idReplacement` fills it in per request). */
export const ID_PLACEHOLDER = '[<id>]';

/**
 * Unique requests: every body differs, so nothing can be deduplicated, and none does more work. Each
 * carries a variable `nonce` with a new value per request (autocannon puts a fresh id in place of
 * ID_PLACEHOLDER). The operation declares no such variable, so GraphQL execution ignores it
 * (graphql-js coerces only declared variables; a gateway forwards to a subgraph only the variables
 * its fetch uses): the document, the plan and the subgraph requests are those of an identical
 * request, while the request as a whole (query + variables) is never the same twice.
 */
export const uniqueBody = (nonce: string = ID_PLACEHOLDER): string =>
  JSON.stringify({ query: TEST_QUERY, operationName: 'TestQuery', variables: { nonce } });
