/** The gateway's admission, from its settings: limits, the cost directives of its supergraph, trusted documents. */
import type { GraphQLSchema } from 'graphql';
import type { GatewayConfig } from '../config.ts';
import { Admission, type OperationLimits } from './admission.ts';
import { readTrustedDocuments, type TrustedDocuments } from './trusted-documents.ts';

/** The trusted documents manifest the settings name, read once at start (a reload keeps it). */
export async function trustedDocumentsFor(config: GatewayConfig): Promise<TrustedDocuments | undefined> {
  if (config.TRUSTED_DOCUMENTS_REQUIRED && !config.TRUSTED_DOCUMENTS) {
    throw new Error('TRUSTED_DOCUMENTS_REQUIRED is true but TRUSTED_DOCUMENTS names no manifest');
  }
  return config.TRUSTED_DOCUMENTS ? readTrustedDocuments(config.TRUSTED_DOCUMENTS) : undefined;
}

/** The admission of one supergraph (its cost directives) under the gateway's settings. */
export function admissionOn(
  config: GatewayConfig,
  apiSchema: GraphQLSchema,
  supergraphSdl: string,
  trusted: TrustedDocuments | undefined,
): Admission {
  return new Admission({
    enabled: config.OPERATION_LIMITS,
    apiSchema,
    supergraphSdl,
    trusted,
    trustedRequired: config.TRUSTED_DOCUMENTS_REQUIRED,
    limits: operationLimits(config),
  });
}

/** The operation limits the settings name. */
export function operationLimits(config: GatewayConfig): OperationLimits {
  return {
    depth: config.MAX_DEPTH,
    aliases: config.MAX_ALIASES,
    rootFields: config.MAX_ROOT_FIELDS,
    fields: config.MAX_FIELDS,
    directives: config.MAX_DIRECTIVES,
    tokens: config.MAX_TOKENS,
    documentBytes: config.MAX_DOCUMENT_BYTES,
    cost: config.MAX_COST,
    defaultListSize: config.DEFAULT_LIST_SIZE,
  };
}
