/**
 * Judges one answer: does it match one of the input's documented answers, within its deadline, and
 * is it free of stack traces and file paths? Returns what is wrong (nothing: the answer is right),
 * so the runner can print one table of mismatches rather than a thousand assertion messages.
 */
import type { Expectation, HostileInput, Observation } from './types.ts';

/** What a leaked stack trace, file path or internal address looks like in a response (body, head or close reason). */
export const LEAKS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'stack frame', pattern: /(^|\\n|\n)\s*at [^\s]+ \(|(^|\\n|\n) {4}at |\bat node:/ },
  { name: 'node internals', pattern: /\bnode:internal\b|\bnode:[a-z_]+(?:\/[\w/]+)?:\d+:\d+/ },
  {
    name: 'project path',
    pattern: /\/work\/|\/home\/|\/root\/|\/tmp\/|\/usr\/(lib|local)\/|\/var\/lib\/|(^|["'\s(=:])\/app\/|(^|["'\s(=:])\/srv\//,
  },
  // In JSON text a backslash is escaped: C:\\work\\... as well as C:\work\... and C:/work/...
  { name: 'Windows path', pattern: /\b[A-Za-z]:(?:\\{1,2}|\/)[\w .-]+(?:\\{1,2}|\/)/ },
  { name: 'node_modules', pattern: /node_modules/ },
  { name: 'file URL', pattern: /file:\/\/\/?[\w.-]/ },
  { name: 'source line', pattern: /\.(ts|js|mjs|cjs):\d+/ },
  { name: 'absolute path', pattern: /(^|["'\s(=])\/(?:[\w.-]+\/){2,}[\w.-]+\.(ts|js|mjs|graphql|json|yaml)\b/ },
  { name: 'HTML error page', pattern: /<pre>|<!DOCTYPE html>/i },
  // The system's own listeners (subgraphs, services, the ops port): a loopback, private or
  // single-label host with a port. Only the gateway's public URL may appear (see leaksIn).
  {
    name: 'internal URL',
    pattern:
      /\b(?:https?|wss?):\/\/(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[::1?\]|10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|[a-z][\w-]*):\d+/i,
  },
];

/**
 * The names of the leak patterns found in any text of the answer. `publicUrl` (the gateway's own
 * `http://host:port`, which a client already knows) may appear; no other address of the system may.
 */
export function leaksIn(texts: readonly string[], publicUrl?: string): string[] {
  const publicOrigin = publicUrl && new URL(publicUrl).origin;
  const wsOrigin = publicOrigin?.replace(/^http/, 'ws');
  const scrubbed = texts.map((t) => (publicOrigin ? t.replaceAll(publicOrigin, '<gateway>').replaceAll(wsOrigin!, '<gateway>') : t));
  return LEAKS.filter(({ pattern }) => scrubbed.some((t) => pattern.test(t))).map(({ name }) => name);
}

/** Everything of an answer a client sees: its texts, and the head of an HTTP response. */
const seenTexts = (seen: Observation): string[] => (seen.head === undefined ? seen.texts : [seen.head, ...seen.texts]);

/** The code a client must never get unless an input documents it: the gateway failed. */
const INTERNAL = 'INTERNAL_SERVER_ERROR';

const list = <T>(value: T | readonly T[] | undefined): readonly T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? (value as readonly T[]) : [value as T];

/** What differs from one expectation (empty: it matches). */
export function mismatches(expect: Expectation, seen: Observation): string[] {
  const out: string[] = [];
  const statuses = list(expect.status);
  if (statuses && !statuses.includes(seen.status ?? -1)) out.push(`status ${seen.status ?? 'none'}, expected ${statuses.join('|')}`);
  const closes = list(expect.close);
  if (closes && !closes.includes(seen.close?.code ?? -1))
    out.push(`close ${seen.close ? seen.close.code : 'none'}, expected ${closes.join('|')}`);
  const codes = list(expect.code);
  const seenCodes = seen.errors.map((e) => e.extensions?.['code']);
  if (codes) {
    // Every error carries one of the documented codes (one right code beside a wrong one is still wrong).
    const stray = seen.errors.filter((e) => !codes.includes(e.extensions?.['code'] as string));
    if (seen.errors.length === 0 || stray.length > 0) out.push(`codes [${seenCodes.join(',') || 'none'}], expected ${codes.join('|')}`);
    else if (expect.limit) {
      // ... and names a documented limit, so that one cap cannot pass for another.
      const limits = seen.errors.map((e) => e.extensions?.['limit']);
      if (!limits.every((l) => expect.limit!.includes(l as string)))
        out.push(`limits [${limits.map(String).join(',')}], expected ${expect.limit.join('|')}`);
    }
  }
  if (expect.ok && (!seen.data || seen.errors.length > 0)) out.push(`no clean result (data: ${seen.data}, codes [${seenCodes.join(',')}])`);
  if (expect.open && !seen.open)
    out.push(seen.close ? `socket closed ${seen.close.code} "${seen.close.reason}"` : 'socket did not answer a ping');
  for (const pattern of expect.excludes ?? []) if (seenTexts(seen).some((t) => pattern.test(t))) out.push(`answer contains ${pattern}`);
  return out;
}

/**
 * What is wrong with the answer to `input` (empty: nothing). Leaks, timeouts and an undocumented
 * INTERNAL_SERVER_ERROR are wrong whatever the expectation. `publicUrl`: the gateway's URL, the one
 * address of the system an answer may show.
 */
export function judge(input: HostileInput, seen: Observation, publicUrl?: string): string[] {
  if (seen.timedOut) return [`no answer within ${input.deadlineMs} ms`];
  const problems: string[] = [];
  const leaks = leaksIn(seenTexts(seen), publicUrl);
  if (leaks.length > 0) problems.push(`leaks: ${leaks.join(', ')}`);
  if (seen.failure && seen.status === undefined && !seen.close) return [...problems, `client failure: ${seen.failure}`];
  // Every error a client sees carries a code (GraphQL-shaped), whatever the input.
  if (seen.errors.some((e) => typeof e.extensions?.['code'] !== 'string')) problems.push('an error without extensions.code');
  // An HTTP error answer is GraphQL-shaped JSON, whatever refused it (express, Apollo, graphql-sse, Node's parser).
  const expectations = list(input.expect)!;
  if (seen.errors.some((e) => e.extensions?.['code'] === INTERNAL) && !expectations.some((e) => list(e.code)?.includes(INTERNAL)))
    problems.push(`${INTERNAL} where none is documented`);
  if (seen.status !== undefined && seen.status >= 400 && seen.errors.length === 0)
    problems.push(`status ${seen.status} without a GraphQL error body`);
  // A 5xx only where documented (503 for a cap on the server's own capacity), never a 500.
  const documented = expectations.some((e) => list(e.status)?.includes(seen.status ?? -1));
  if (seen.status !== undefined && seen.status >= 500 && (seen.status === 500 || !documented)) problems.push(`server error ${seen.status}`);
  if (seen.close?.code === 4500 || seen.close?.code === 1011) problems.push(`socket closed as a server error (${seen.close.code})`);
  const per = expectations.map((e) => mismatches(e, seen));
  if (!per.some((m) => m.length === 0)) problems.push(per.map((m) => m.join('; ')).join(' OR '));
  return problems;
}

/** A short summary of an answer for the mismatch table. */
export function describe(seen: Observation): string {
  const parts: string[] = [];
  if (seen.status !== undefined) parts.push(`HTTP ${seen.status}`);
  if (seen.close) parts.push(`close ${seen.close.code}${seen.close.reason ? ` "${seen.close.reason.slice(0, 60)}"` : ''}`);
  const codes = [...new Set(seen.errors.map((e) => String(e.extensions?.['code'])))];
  if (codes.length > 0) parts.push(codes.join(','));
  if (seen.data) parts.push('data');
  if (seen.failure) parts.push(seen.failure.slice(0, 80));
  const first = seen.errors[0]?.message;
  if (first) parts.push(`"${first.slice(0, 80)}"`);
  return parts.join(' ') || 'nothing';
}
