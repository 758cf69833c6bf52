/** The gateway's admission, from its settings: limits, the cost directives of its supergraph, trusted documents. */
import type { GraphQLSchema } from 'graphql';
import type { GatewayConfig } from '../config.ts';
import { Admission, type OperationLimits } from './admission.ts';
import { readTrustedDocuments } from './trusted-documents.ts';

export async function admissionFor(config: GatewayConfig, apiSchema: GraphQLSchema, supergraphSdl: string): Promise<Admission> {
  if (config.TRUSTED_DOCUMENTS_REQUIRED && !config.TRUSTED_DOCUMENTS) {
    throw new Error('TRUSTED_DOCUMENTS_REQUIRED is true but TRUSTED_DOCUMENTS names no manifest');
  }
  return new Admission({
    enabled: config.OPERATION_LIMITS,
    apiSchema,
    supergraphSdl,
    trusted: config.TRUSTED_DOCUMENTS ? await readTrustedDocuments(config.TRUSTED_DOCUMENTS) : undefined,
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
    directives: config.MAX_DIRECTIVES,
    tokens: config.MAX_TOKENS,
    documentBytes: config.MAX_DOCUMENT_BYTES,
    cost: config.MAX_COST,
    defaultListSize: config.DEFAULT_LIST_SIZE,
  };
}
