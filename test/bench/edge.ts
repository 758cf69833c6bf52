/**
 * `npm run bench -- edge`: what identity and the operation limits add to the gateway's CPU per
 * request. One example system (embedded log), and beside its gateway a second gateway process on
 * the same subgraphs with the same settings (read from the first one's /proc/<pid>/environ, so keys
 * and secrets match whatever the system configures) but OPERATION_LIMITS=false. The same simple
 * query then goes, in alternating rounds, to:
 *
 *   on    the system's gateway, with a valid token (verified per request) and the limits on
 *   off   the second gateway, with no token and the limits off
 *
 * Each round sends a fixed number of requests to one gateway and reads that gateway's CPU (user +
 * system, /proc/<pid>/stat) before and after; alternating cancels the drift of a shared machine.
 * Rate limits are set far above the bench's rate on both, so they are counted but never refuse.
 * Prints µs of gateway CPU per request for each and the difference; asserts nothing.
 */
import { readFile } from 'node:fs/promises';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { cpuSeconds } from './process-sampler.ts';
import { log } from './scenario.ts';
import { round, table } from './stats.ts';

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
let bare: Child | undefined;

export async function cleanupEdgeBench(): Promise<void> {
  await bare?.stop().catch(() => {});
  await system?.stop().catch(() => {});
  bare = system = undefined;
}

/** The environment a process was started with (Linux). */
async function environmentOf(pid: number): Promise<Record<string, string>> {
  const text = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    text
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
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
      env: { gateway: { ...UNLIMITED, OPERATION_LIMITS: 'true' } },
    });
    const gatewayPid = system.processes.get('gateway')!.process.pid!;
    bare = await startChild({
      name: 'gateway-without-limits',
      entry: 'gateway/src/main.ts',
      env: { ...(await environmentOf(gatewayPid)), PORT: '0', OPERATION_LIMITS: 'false', ...UNLIMITED },
      listeners: ['http'],
    });
    log(`edge: system and second gateway up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const mint = (system as ExampleSystem & { token?: Mint }).token?.bind(system);
    if (!mint) log('edge: this system mints no tokens (ExampleSystem.token): "on" sends none, so identity is not measured');
    const variants: Variant[] = [
      {
        name: 'on: token + limits',
        url: `${system.gatewayUrl}/graphql`,
        pid: gatewayPid,
        authorization: mint && `Bearer ${await mint({ subject: 'bench-edge' })}`,
        cpuSeconds: 0,
        requests: 0,
        failures: 0,
      },
      {
        name: 'off: no token, no limits',
        url: `http://127.0.0.1:${bare.ports['http']}/graphql`,
        pid: bare.process.pid!,
        authorization: undefined,
        cpuSeconds: 0,
        requests: 0,
        failures: 0,
      },
    ];
    // Warm-up (JIT, connection pools, plan caches), not measured.
    for (const v of variants) await measureRound({ ...v }, { ...options, requests: Math.min(200, options.requests) });
    for (let r = 0; r < options.rounds; r++)
      for (const v of r % 2 === 0 ? variants : [...variants].reverse()) await measureRound(v, options);

    const us = (v: Variant) => (v.cpuSeconds * 1e6) / v.requests;
    const [on, off] = variants as [Variant, Variant];
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
        `added by identity and limits: ${round(us(on) - us(off))} µs per request (${round(((us(on) - us(off)) / us(off)) * 100)} %)`,
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
      }) + '\n',
    );
    if (on.failures + off.failures > 0) log(`edge: ${on.failures + off.failures} requests failed: the figures are not comparable`);
  } catch (err) {
    log(`edge failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanupEdgeBench();
  }
}
