/**
 * One supergraph as the gateway serves it: the supergraph built once, its API schema (what clients
 * may query), its full schema (what plans and representations are read against) and one query
 * planner. Queries, mutations and subscriptions of a supergraph generation all use the same one.
 */
import { Supergraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import type { GraphQLSchema } from 'graphql';

export class FederatedSchema {
  readonly supergraph: Supergraph;
  readonly apiSchema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  readonly planner: QueryPlanner;

  /** Throws when the SDL is not a valid supergraph. */
  constructor(supergraphSdl: string) {
    this.supergraph = Supergraph.build(supergraphSdl);
    this.apiSchema = this.supergraph.apiSchema().toGraphQLJSSchema();
    this.supergraphSchema = this.supergraph.schema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(this.supergraph);
  }
}
