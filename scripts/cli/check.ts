/**
 * `interchange check`: composes the registry's subgraphs and compares the new supergraph's API
 * schema with the one served: the gateway's (`--gateway <ops url>`: its `GET /supergraph` and
 * `GET /usage`) or a supergraph file's (`--against`, by default the committed
 * schema/supergraph.graphql). Every change is classified (schema-changes.ts); breaking and
 * dangerous ones name the served operations they touch (usage-impact.ts), from the gateway's usage
 * record or a copy of it (`--usage`).
 *
 * Exit code: 0 when nothing breaks (or `--allow-breaking`), 1 on a breaking change, 2 when the check
 * could not be made (composition failed, the gateway did not answer, a file is missing or wrong).
 */
import { readFile } from 'node:fs/promises';
import { apiSchemaOf } from '../../gateway/src/gateway.ts';
import { usageFileSchema, type UsageFile } from '../../gateway/src/usage/record.ts';
import { composeSupergraph, shown, supergraphPath } from '../composition.ts';
import { RegistryError } from '../registry.ts';
import { passes, reportJson, reportText, type CheckReport } from './check-report.ts';
import { schemaChanges } from './schema-changes.ts';
import { footprints, operationsAffected } from './usage-impact.ts';

export interface CheckOptions {
  registry: string;
  /** The gateway's ops listener, `http://host:port`. */
  gateway?: string | undefined;
  /** A supergraph file to compare with instead of a gateway's. */
  against?: string | undefined;
  /** A usage record file (the gateway's USAGE_FILE, or its `GET /usage` saved). */
  usage?: string | undefined;
  allowBreaking?: boolean | undefined;
  json?: boolean | undefined;
}

/** Why the check could not be made: printed as it is, exit code 2. */
class CannotCheck extends Error {}

/** Prints the report; resolves with the process's exit code. */
export async function check(options: CheckOptions): Promise<number> {
  const composed = await composeSupergraph(options.registry).catch((err: unknown) => {
    if (!(err instanceof RegistryError)) throw err;
    return { ok: false as const, errors: [err.message] };
  });
  if (!composed.ok) {
    process.stderr.write(`composition failed:\n${composed.errors.map((e) => `  - ${e}`).join('\n')}\n`);
    return 2;
  }
  let report: CheckReport;
  try {
    const served = await servedSupergraph(options);
    const usage = options.usage !== undefined ? await usageFile(options.usage) : served.usage;
    const before = apiSchema(served.text, served.against);
    const after = apiSchema(composed.supergraphSdl, 'the composed supergraph');
    const prints = usage && footprints(before, usage.operations);
    report = {
      against: served.against,
      servedOperations: usage?.operations.length ?? null,
      allowBreaking: options.allowBreaking ?? false,
      changes: schemaChanges(before, after).map((change) =>
        change.severity === 'safe' || !prints ? change : { ...change, operations: operationsAffected(change, prints) },
      ),
    };
  } catch (err) {
    if (!(err instanceof CannotCheck)) throw err;
    process.stderr.write(`check: ${err.message}\n`);
    return 2;
  }
  process.stdout.write(options.json ? reportJson(report) : reportText(report));
  return passes(report) ? 0 : 1;
}

/** The supergraph served: the gateway's, with its usage record, or a file's. */
async function servedSupergraph(options: CheckOptions): Promise<{ text: string; against: string; usage?: UsageFile }> {
  if (options.gateway === undefined) {
    const file = options.against ?? supergraphPath;
    return { text: await readText(file), against: shown(file) };
  }
  const base = options.gateway.replace(/\/+$/, '');
  const supergraph = await fetchFrom(`${base}/supergraph`);
  const hash = supergraph.headers.get('etag')?.replaceAll('"', '');
  const usage = options.usage === undefined ? parseUsage(await (await fetchFrom(`${base}/usage`)).text(), `${base}/usage`) : undefined;
  return {
    text: await supergraph.text(),
    against: `the gateway at ${base}${hash ? ` (supergraph ${hash.slice(0, 12)})` : ''}`,
    ...(usage && { usage }),
  };
}

async function fetchFrom(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CannotCheck(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (!response.ok) throw new CannotCheck(`${url} answered ${response.status}: is it a gateway's ops listener?`);
  return response;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CannotCheck(`cannot read ${shown(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function usageFile(file: string): Promise<UsageFile> {
  return parseUsage(await readText(file), shown(file));
}

function parseUsage(text: string, origin: string): UsageFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CannotCheck(`${origin} is not JSON`);
  }
  const parsed = usageFileSchema.safeParse(data);
  if (!parsed.success) throw new CannotCheck(`${origin} is not a usage record: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

function apiSchema(text: string, origin: string) {
  try {
    return apiSchemaOf(text);
  } catch (err) {
    throw new CannotCheck(`${origin} is not a valid supergraph: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}
