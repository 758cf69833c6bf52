/**
 * `npm run bench -- edge`: what identity, the operation limits and the rate limiter add to the
 * gateway's CPU per request, and how fast the limits refuse. One example system (embedded log), and
 * beside its gateway a second gateway process on the same subgraphs (the system's identity
 * settings, a DATA_DIR of its own) with OPERATION_LIMITS=false and the per-client rates off (a rate
 * of 0). The same simple query then goes, in alternating rounds, to:
 *
 *   on    the system's gateway, with a valid token (verified per request), the limits on, and the
 *         rate limiter running (its rates far above the bench's, so it counts and never refuses)
 *   off   the second gateway, with no token, no limits and no rate limiter
 *
 * (The caps on sockets and streams are not on a plain query's path.) Each round sends a fixed
 * number of requests to one gateway and reads that gateway's CPU (user + system,
 * /proc/<pid>/stat) before and after; alternating cancels the drift of a shared machine. Then, for
 * each operation limit, a document just over it goes to the "on" gateway, one request at a time:
 * the time to its OPERATION_LIMIT_EXCEEDED answer (p50/p99 ms; the goal is under 100 ms).
 *
 * Prints µs of gateway CPU per request for each and the difference, and the refusal times; asserts
 * no figure. A request that fails (an error, a status other than the one expected, a refusal by
 * another limit) fails the run: the figures would not be comparable.
 */
import { startExtraGateway, type ExtraGateway, type SubscriptionSystem } from '../subscriptions/support.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { deepNesting, manyRootFields, paddedDocument, scalarFragmentBomb, tokenFlood } from '../hostile/documents.ts';
import { cpuSeconds } from './process-sampler.ts';
import { log } from './scenario.ts';
import { distribution, round, table } from './stats.ts';

export interface EdgeBenchOptions {
  /** Requests per round and variant. */
  requests: number;
  rounds: number;
  /** Requests in flight at once. */
  concurrency: number;
}

const QUERY = '{ products(first: 2) { id name } }';
/** Far above the bench's rate: the limiter runs, and never refuses. */
const UNLIMITED = { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000' };
/** No rate limiter at all (a rate of 0 turns a limit off). */
const NO_RATES = { RATE_LIMIT_PER_SECOND: '0', SUBSCRIPTION_EVENTS_PER_SECOND: '0' };
/** The operation limits of the "on" gateway, pinned at their defaults: the refusal documents are sized just over them. */
const LIMITS = {
  MAX_DEPTH: 15,
  MAX_ALIASES: 30,
  MAX_ROOT_FIELDS: 20,
  MAX_DIRECTIVES: 50,
  MAX_TOKENS: 2_000,
  MAX_DOCUMENT_BYTES: 65_536,
  MAX_COST: 10_000,
  MAX_FIELDS: 500,
};
/** Refusals timed per limit: at most this many (and no more than --edge-requests). */
const MAX_REFUSALS = 200;

/** Per limit (as extensions.limit names it), a document just over it and under every other. */
export const JUST_OVER: Readonly<Record<string, string>> = {
  depth: deepNesting(LIMITS.MAX_DEPTH + 1),
  aliases: `{ products(first: 1) { ${Array.from({ length: LIMITS.MAX_ALIASES + 1 }, (_, i) => `a${i}: id`).join(' ')} } }`,
  rootFields: manyRootFields(LIMITS.MAX_ROOT_FIELDS + 1),
  directives: `{ products(first: 1) { ${'id @skip(if: false) '.repeat(LIMITS.MAX_DIRECTIVES + 1)}} }`,
  tokens: tokenFlood(LIMITS.MAX_TOKENS),
  documentBytes: paddedDocument(LIMITS.MAX_DOCUMENT_BYTES + 100),
  cost: `{ products(first: ${LIMITS.MAX_COST + 1}) { id } }`,
  // 2^levels scalar fields through fragments spread twice each, plus the root: just over MAX_FIELDS.
  fields: scalarFragmentBomb(Math.ceil(Math.log2(LIMITS.MAX_FIELDS))),
};

type Mint = (claims?: { subject?: string; scopes?: readonly string[] }) => Promise<string>;

interface Variant {
  name: string;
  url: string;
  pid: number;
  authorization: string | undefined;
  cpuSeconds: number;
  requests: number;
  failures: number;
}

let system: ExampleSystem | undefined;
let bare: ExtraGateway | undefined;

export async function cleanupEdgeBench(): Promise<void> {
  await bare?.child.stop().catch(() => {});
  await system?.stop().catch(() => {});
  bare = system = undefined;
}

interface Refusals {
  limit: string;
  ms: number[];
  /** Answers that were not this limit's refusal. */
  wrong: string[];
}

/** `count` requests of `JUST_OVER[limit]`, one at a time: the time to each answer, and any answer that is not the refusal. */
async function timeRefusals(url: string, authorization: string | undefined, limit: string, count: number): Promise<Refusals> {
  const result: Refusals = { limit, ms: [], wrong: [] };
  const headers = { 'content-type': 'application/json', ...(authorization && { authorization }) };
  const body = JSON.stringify({ query: JUST_OVER[limit] });
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers, body });
    const answer = (await response.json()) as { errors?: { extensions?: { code?: string; limit?: string } }[] };
    result.ms.push(performance.now() - started);
    const error = answer.errors?.[0]?.extensions;
    if (response.status !== 400 || error?.code !== 'OPERATION_LIMIT_EXCEEDED' || error.limit !== limit)
      result.wrong.push(`HTTP ${response.status} ${JSON.stringify(answer).slice(0, 200)}`);
  }
  return result;
}

async function measureRound(variant: Variant, options: EdgeBenchOptions): Promise<void> {
  const headers = { 'content-type': 'application/json', ...(variant.authorization && { authorization: variant.authorization }) };
  const body = JSON.stringify({ query: QUERY });
  let left = options.requests;
  const before = await cpuSeconds(variant.pid);
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (left-- > 0) {
        const response = await fetch(variant.url, { method: 'POST', headers, body }).catch(() => undefined);
        const result = response && ((await response.json()) as { errors?: unknown[] });
        if (response?.status !== 200 || result?.errors) variant.failures++;
      }
    }),
  );
  const after = await cpuSeconds(variant.pid);
  variant.cpuSeconds += (after ?? Number.NaN) - (before ?? Number.NaN);
  variant.requests += options.requests;
}

export async function edgeBench(options: EdgeBenchOptions): Promise<void> {
  try {
    const started = Date.now();
    system = await startExampleSystem({
      host: '127.0.0.1',
      gatewayPort: 0,
      logLevel: 'error',
      env: {
        gateway: { ...UNLIMITED, OPERATION_LIMITS: 'true', ...Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])) },
      },
    });
    const gatewayPid = system.processes.get('gateway')!.process.pid!;
    // On the same subgraphs with the system's identity settings, in a DATA_DIR of its own.
    bare = await startExtraGateway({ gatewayOpsUrl: system.opsUrl('gateway'), system } as SubscriptionSystem, {
      OPERATION_LIMITS: 'false',
      ...NO_RATES,
    });
    log(`edge: system and second gateway up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const mint = (system as ExampleSystem & { token?: Mint }).token?.bind(system);
    if (!mint) log('edge: this system mints no tokens (ExampleSystem.token): "on" sends none, so identity is not measured');
    const variants: Variant[] = [
      {
        name: 'on: token + limits + rates',
        url: `${system.gatewayUrl}/graphql`,
        pid: gatewayPid,
        authorization: mint && `Bearer ${await mint({ subject: 'bench-edge' })}`,
        cpuSeconds: 0,
        requests: 0,
        failures: 0,
      },
      {
        name: 'off: no token, no limits, no rates',
        url: `${bare.gatewayUrl}/graphql`,
        pid: bare.child.process.pid!,
        authorization: undefined,
        cpuSeconds: 0,
        requests: 0,
        failures: 0,
      },
    ];
    // Warm-up (JIT, connection pools, plan caches), not measured.
    for (const v of variants) {
      const warmUp = { ...v, failures: 0 };
      await measureRound(warmUp, { ...options, requests: Math.min(200, options.requests) });
      if (warmUp.failures > 0) throw new Error(`${v.name}: ${warmUp.failures} requests of the warm-up failed`);
    }
    for (let r = 0; r < options.rounds; r++)
      for (const v of r % 2 === 0 ? variants : [...variants].reverse()) await measureRound(v, options);

    const us = (v: Variant) => (v.cpuSeconds * 1e6) / v.requests;
    const [on, off] = variants as [Variant, Variant];
    if (on.failures + off.failures > 0)
      throw new Error(
        `${on.failures + off.failures} requests failed (on ${on.failures}, off ${off.failures}): the figures are not comparable`,
      );

    const refusalCount = Math.min(options.requests, MAX_REFUSALS);
    const refusals: Refusals[] = [];
    for (const limit of Object.keys(JUST_OVER)) refusals.push(await timeRefusals(on.url, on.authorization, limit, refusalCount));
    const wrong = refusals.filter((r) => r.wrong.length > 0);
    if (wrong.length > 0)
      throw new Error(`a document just over a limit was not refused by it: ${wrong.map((r) => `${r.limit}: ${r.wrong[0]}`).join('; ')}`);
    const refusalFigures = refusals.map((r) => {
      const d = distribution(r.ms);
      return { limit: r.limit, requests: d.count, p50Ms: round(d.p50, 2), p99Ms: round(d.p99, 2) };
    });
    process.stdout.write(
      [
        '',
        `Edge: gateway CPU per request for ${QUERY}, ${options.rounds} alternating rounds of ${options.requests} requests each (${options.concurrency} in flight)`,
        '',
        table([
          ['variant', 'requests', 'failures', 'gateway cpu s', 'µs per request'],
          ...variants.map((v) => [v.name, v.requests, v.failures, round(v.cpuSeconds, 2), round(us(v))]),
        ]),
        '',
        `added by identity, limits and rates: ${round(us(on) - us(off))} µs per request (${round(((us(on) - us(off)) / us(off)) * 100)} %)`,
        '',
        `Refusals: time to the OPERATION_LIMIT_EXCEEDED answer to a document just over each limit, ${refusalCount} requests one at a time (goal: under 100 ms)`,
        '',
        table([['limit', 'requests', 'p50 ms', 'p99 ms'], ...refusalFigures.map((f) => [f.limit, f.requests, f.p50Ms, f.p99Ms])]),
        '',
      ].join('\n'),
    );
    process.stdout.write(
      JSON.stringify({
        bench: 'edge',
        options,
        onUsPerRequest: round(us(on)),
        offUsPerRequest: round(us(off)),
        addedUsPerRequest: round(us(on) - us(off)),
        failures: { on: on.failures, off: off.failures },
        refusals: refusalFigures,
      }) + '\n',
    );
  } catch (err) {
    log(`edge failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanupEdgeBench();
  }
}
