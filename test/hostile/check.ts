/**
 * Judges one answer: does it match one of the input's documented answers, within its deadline, and
 * is it free of stack traces and file paths? Returns what is wrong (nothing: the answer is right),
 * so the runner can print one table of mismatches rather than a thousand assertion messages.
 */
import type { Expectation, HostileInput, Observation } from './types.ts';

/** What a leaked stack trace or file path looks like in a response. */
export const LEAKS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'stack frame', pattern: /(^|\\n|\n)\s*at [^\s]+ \(|(^|\\n|\n) {4}at / },
  { name: 'project path', pattern: /\/work\/|\/home\/|\/root\/|\/tmp\/|\/usr\/(lib|local)\// },
  { name: 'node_modules', pattern: /node_modules/ },
  { name: 'file URL', pattern: /file:\/\/\/?[\w.-]/ },
  { name: 'source line', pattern: /\.(ts|js|mjs|cjs):\d+/ },
  { name: 'absolute path', pattern: /(^|["'\s(=])\/(?:[\w.-]+\/){2,}[\w.-]+\.(ts|js|mjs|graphql|json|yaml)\b/ },
  { name: 'HTML error page', pattern: /<pre>|<!DOCTYPE html>/i },
];

/** The names of the leak patterns found in any text of the answer. */
export function leaksIn(texts: readonly string[]): string[] {
  return LEAKS.filter(({ pattern }) => texts.some((t) => pattern.test(t))).map(({ name }) => name);
}

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
    const hit = seen.errors.find((e) => codes.includes(e.extensions?.['code'] as string));
    if (!hit) out.push(`codes [${seenCodes.join(',') || 'none'}], expected ${codes.join('|')}`);
    else if (expect.limit && !expect.limit.includes(hit.extensions?.['limit'] as string))
      out.push(`limit ${String(hit.extensions?.['limit'])}, expected ${expect.limit.join('|')}`);
  }
  if (expect.ok && (!seen.data || seen.errors.length > 0)) out.push(`no clean result (data: ${seen.data}, codes [${seenCodes.join(',')}])`);
  if (expect.open && !seen.open)
    out.push(seen.close ? `socket closed ${seen.close.code} "${seen.close.reason}"` : 'socket did not answer a ping');
  for (const pattern of expect.excludes ?? []) if (seen.texts.some((t) => pattern.test(t))) out.push(`answer contains ${pattern}`);
  return out;
}

/** What is wrong with the answer to `input` (empty: nothing). Leaks and timeouts are wrong whatever the expectation. */
export function judge(input: HostileInput, seen: Observation): string[] {
  if (seen.timedOut) return [`no answer within ${input.deadlineMs} ms`];
  const problems: string[] = [];
  const leaks = leaksIn(seen.texts);
  if (leaks.length > 0) problems.push(`leaks: ${leaks.join(', ')}`);
  if (seen.failure && seen.status === undefined && !seen.close) return [...problems, `client failure: ${seen.failure}`];
  // Every error a client sees carries a code (GraphQL-shaped), whatever the input.
  if (seen.errors.some((e) => typeof e.extensions?.['code'] !== 'string')) problems.push('an error without extensions.code');
  // An HTTP error answer is GraphQL-shaped JSON, whatever refused it (express, Apollo, graphql-sse, Node's parser).
  const expectations = list(input.expect)!;
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
