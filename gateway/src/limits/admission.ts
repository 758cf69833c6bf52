/**
 * Admission: what every operation passes, over every transport, before GraphQL's standard
 * validation and before planning. Both of those can take time far worse than linear in the
 * document (OverlappingFieldsCanBeMerged on thousands of aliases; the planner on a fragment bomb),
 * so nothing reaches them that admission has not bounded, in time linear in the document:
 *
 * 1. the document is found: the query sent, the trusted document its id names, or the query an APQ
 *    hash sent alone names (registered-queries.ts), admitted again with this request's variables;
 * 2. with trusted documents required, a body that is not in the manifest is refused;
 * 3. its size in bytes is checked before it is parsed, and the parser stops at MAX_TOKENS;
 * 4. one pass (measure.ts) measures depth, aliases, root fields, fields (fragments expanded),
 *    directives and cost, each checked against its setting.
 *
 * graphql-armor's rules are not used for 3 and 4: see the README ("Operation limits") for why.
 */
import { buildSchema, GraphQLError, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import { readCostModel, type CostModel } from './cost-model.ts';
import { FragmentCycle, measureOperation, NoOperation, SlicingArgumentRequired, type Measures } from './measure.ts';
import { RegisteredQueries } from './registered-queries.ts';
import type { TrustedDocuments } from './trusted-documents.ts';

export interface OperationLimits {
  /** Deepest field nesting (a root field is at depth 1). */
  depth: number;
  aliases: number;
  rootFields: number;
  /** Field selections with fragments expanded where they are spread (Apollo Router's `max_height`). */
  fields: number;
  directives: number;
  tokens: number;
  documentBytes: number;
  cost: number;
  /** The size assumed for a list field without a slicing argument or `@listSize(assumedSize)`. */
  defaultListSize: number;
}

export interface AdmissionOptions {
  /** OPERATION_LIMITS: false skips every limit (trusted documents still apply). */
  enabled: boolean;
  limits: OperationLimits;
  /** The schema clients see: fields are measured against it. */
  apiSchema: GraphQLSchema;
  /** The supergraph SDL, for its `@cost` and `@listSize` directives. */
  supergraphSdl: string;
  trusted?: TrustedDocuments | undefined;
  /** TRUSTED_DOCUMENTS_REQUIRED: only bodies in the manifest run. */
  trustedRequired: boolean;
}

/** What a GraphQL request carries, before anything about it is known to be well formed. */
export interface RequestParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
  documentId?: unknown;
}

export type Admitted =
  /** The document to run; parsed when the limits were checked. */
  | { query: string; document: DocumentNode | undefined }
  /** No query: Apollo Server refuses it (or, with OPERATION_LIMITS=false, answers a hash alone from its APQ cache). */
  | { query: undefined; document: undefined };

type LimitName = Exclude<keyof OperationLimits, 'defaultListSize'>;

const SETTING: Record<LimitName, string> = {
  depth: 'MAX_DEPTH',
  aliases: 'MAX_ALIASES',
  rootFields: 'MAX_ROOT_FIELDS',
  fields: 'MAX_FIELDS',
  directives: 'MAX_DIRECTIVES',
  tokens: 'MAX_TOKENS',
  documentBytes: 'MAX_DOCUMENT_BYTES',
  cost: 'MAX_COST',
};

export const overLimit = (limit: LimitName, max: number, found?: number) =>
  new InterchangeError(
    ErrorCode.OPERATION_LIMIT_EXCEEDED,
    `the operation exceeds the gateway's ${limit} limit of ${max}${found === undefined ? '' : ` (it has ${found})`} (${SETTING[limit]})`,
    { limit, max },
  );

const notInList = () =>
  new InterchangeError(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, 'only trusted documents run here, and this operation is not one of them');

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** The id a request names its document by: Apollo's `persistedQuery.sha256Hash`, or `documentId`. */
function documentIdOf(params: RequestParams): string | undefined {
  const hash = record(record(params.extensions)['persistedQuery'])['sha256Hash'];
  if (typeof hash === 'string') return hash;
  return typeof params.documentId === 'string' ? params.documentId : undefined;
}

/** The APQ hash a request carries (`extensions.persistedQuery`, version 1): another version is Apollo Server's to refuse. */
function apqHashOf(params: RequestParams): string | undefined {
  const persisted = record(record(params.extensions)['persistedQuery']);
  return persisted['version'] === 1 && typeof persisted['sha256Hash'] === 'string' ? persisted['sha256Hash'] : undefined;
}

const MEASURED: readonly (keyof Measures)[] = ['depth', 'aliases', 'rootFields', 'fields', 'directives', 'cost'];

export class Admission {
  readonly options: AdmissionOptions;
  private readonly model: CostModel;
  /** APQ's registered queries, for hashes sent alone (registered-queries.ts). */
  private readonly registered = new RegisteredQueries();

  constructor(options: AdmissionOptions) {
    this.options = options;
    this.model = readCostModel(buildSchema(options.supergraphSdl, { assumeValidSDL: true }));
  }

  /** Finds the document, then checks it. Throws the refusal (an InterchangeError, or a syntax error). */
  admit(params: RequestParams): Admitted {
    const { trusted, trustedRequired, enabled } = this.options;
    const sent = typeof params.query === 'string' && params.query !== '' ? params.query : undefined;
    const hash = apqHashOf(params);
    let query = sent;
    if (query === undefined) {
      const id = documentIdOf(params);
      query = id === undefined ? undefined : trusted?.body(id);
      if (query === undefined) {
        if (trustedRequired) throw notInList();
        // Without limits Apollo Server's APQ answers a hash alone; with them, the query admission registered.
        if (!enabled || hash === undefined) return { query: undefined, document: undefined };
        query = this.registered.query(hash);
      }
    } else if (trustedRequired && !trusted?.has(query)) {
      throw notInList();
    }
    if (!enabled) return { query, document: undefined };
    const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
    const document = this.check(query, record(params.variables), operationName);
    if (sent !== undefined && hash !== undefined) this.registered.register(hash, sent);
    return { query, document };
  }

  /** The admitted document, parsed (for transports that run it themselves). */
  document(params: RequestParams): { query: string; document: DocumentNode } {
    const admitted = this.admit(params);
    if (admitted.query === undefined) {
      throw new InterchangeError(ErrorCode.BAD_REQUEST, 'the request has no query (and no id of a trusted document)');
    }
    return { query: admitted.query, document: admitted.document ?? parseOrRefuse(admitted.query) };
  }

  private check(query: string, variables: Record<string, unknown>, operationName: string | undefined): DocumentNode {
    const { limits } = this.options;
    const bytes = Buffer.byteLength(query, 'utf8');
    if (bytes > limits.documentBytes) throw overLimit('documentBytes', limits.documentBytes, bytes);
    const document = parseOrRefuse(query, limits.tokens);
    let measured: Measures;
    try {
      measured = measureOperation(document, {
        schema: this.options.apiSchema,
        model: this.model,
        defaultListSize: limits.defaultListSize,
        variables,
        operationName,
      });
    } catch (err) {
      if (err instanceof FragmentCycle || err instanceof NoOperation || err instanceof SlicingArgumentRequired)
        throw new InterchangeError(ErrorCode.BAD_REQUEST, err.message);
      // Only a chain of fragments spreading each other thousands deep gets here (MAX_TOKENS bounds it by default).
      if (err instanceof RangeError)
        throw new InterchangeError(ErrorCode.BAD_REQUEST, 'the document nests fragments too deeply to be read');
      throw err;
    }
    for (const limit of MEASURED) {
      // Not `>`: a measure that overflowed to NaN (Infinity × 0) is over every limit.
      if (!(measured[limit] <= limits[limit])) throw overLimit(limit, limits[limit], measured[limit]);
    }
    return document;
  }
}

/** Parses, stopping at `maxTokens`; a syntax error carries Apollo Server's code for it. */
function parseOrRefuse(query: string, maxTokens?: number): DocumentNode {
  try {
    return parse(query, maxTokens === undefined ? {} : { maxTokens });
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    if (maxTokens !== undefined && /contains more th\w+ \d+ tokens/.test(err.message)) throw overLimit('tokens', maxTokens);
    throw new GraphQLError(err.message, {
      nodes: err.nodes,
      source: err.source,
      positions: err.positions,
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  }
}
