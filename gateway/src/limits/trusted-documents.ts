/**
 * Trusted documents: a manifest of the operations clients may run, in Apollo's persisted query
 * manifest format (`{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id,
 * name, type, body }] }`, as `generate-persisted-query-manifest` writes it). A client may send only
 * the id (`extensions.persistedQuery.sha256Hash`, or `documentId`) and the gateway runs the body;
 * when they are required, a body that is not in the manifest is refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const manifestSchema = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(z.object({ id: z.string().min(1), name: z.string().optional(), type: z.string().optional(), body: z.string() })),
});

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface TrustedDocuments {
  /** The body registered under this id (or under this body's hash), if any. */
  body(id: string): string | undefined;
  /** Whether this exact body is in the manifest. */
  has(body: string): boolean;
}

export function trustedDocuments(manifest: unknown): TrustedDocuments {
  const { operations } = manifestSchema.parse(manifest);
  const byId = new Map<string, string>();
  const hashes = new Set<string>();
  for (const { id, body } of operations) {
    byId.set(id, body);
    // Apollo's ids are the body's SHA-256; a manifest with other ids is still found by hash.
    byId.set(sha256(body), body);
    hashes.add(sha256(body));
  }
  return {
    body: (id) => byId.get(id.startsWith('sha256:') ? id.slice('sha256:'.length) : id),
    has: (body) => hashes.has(sha256(body)),
  };
}

/** Reads the manifest at `path`; throws (and the gateway does not start) when it is not one. */
export async function readTrustedDocuments(path: string): Promise<TrustedDocuments> {
  const text = await readFile(path, 'utf8');
  try {
    return trustedDocuments(JSON.parse(text));
  } catch (err) {
    throw new Error(`TRUSTED_DOCUMENTS: ${path} is not an Apollo persisted query manifest`, { cause: err });
  }
}
