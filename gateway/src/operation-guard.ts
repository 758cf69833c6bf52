/**
 * Client mistakes that `@apollo/gateway` would answer with HTTP 500 are refused with 400 and
 * BAD_REQUEST before planning: a document with several operations and no (or an unknown)
 * `operationName`, and a subscription sent as a plain HTTP request (subscriptions run over
 * graphql-ws on /graphql and Server-Sent Events on /graphql/stream, through the subscription
 * engine, never through Apollo Server's pipeline).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, InterchangeError, withHttpStatus } from '../../lib/errors.ts';

const badRequest = (message: string) => withHttpStatus(new InterchangeError(ErrorCode.BAD_REQUEST, message), 400);

export function operationGuard<Ctx extends object>(ssePath: string): ApolloServerPlugin<Ctx> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation, request }) => {
        if (!operation) {
          throw badRequest(
            request.operationName
              ? `the document has no operation named "${request.operationName}"`
              : 'the document has several operations: name the one to run in `operationName`',
          );
        }
        if (operation.operation === 'subscription') {
          throw badRequest(
            `subscriptions run over WebSocket (graphql-ws) on this path or over Server-Sent Events on ${ssePath}, not as a plain HTTP request`,
          );
        }
      },
    }),
  };
}
