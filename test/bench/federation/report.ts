/** The federation benchmark's figures: a table per mode, the answer checks, and one line of JSON. */
import { round, table } from '../stats.ts';
import type { CpuPlan } from './pinning.ts';

export type Mode = 'unique' | 'identical';

/** One request of a kind sent to a gateway before the load. */
export interface Check {
  gateway: string;
  mode: Mode;
  status: number;
  /** GraphQL errors in the answer (1 when it had no data at all). */
  errors: number;
  /** The whole response body, in bytes. */
  responseBytes: number;
  /** Its `data`, serialized, in bytes. */
  dataBytes: number;
  /** Its data (of the identical request) equal to the baseline's, field order included. */
  sameDataAsBaseline: boolean;
}

export interface FederationFigures {
  mode: Mode;
  gateway: string;
  baseline: boolean;
  rounds: number;
  /** Responses received in the measured windows. */
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  requestsPerSecondByRound: number[];
  latencyMs: { p50: number; p99: number; max: number };
  cpuMsPerQuery: number;
  /** The gateway's CPU over the measured windows, in % of one core: well under 100 % pinned means it waited (for the subgraphs, or for a core shared with other work). */
  gatewayCorePercent: number;
  /** CPU seconds the machine's other processes (not this bench's) took during the windows. */
  otherCpuSeconds: number;
  peakRssMb: number;
  subgraphRequestsPerQuery: number;
  failures: { non2xx: number; graphqlErrors: number; connectionErrors: number };
}

export interface FederationReport {
  options: { seconds: number; rounds: number; connections: number; warmup: number };
  /** The cores the gateway under test and the rest ran on; null: not pinned. */
  pinned: CpuPlan | null;
  checks: Check[];
  figures: FederationFigures[];
}

/** `value` / the baseline's, as "1.23x" ("-" without a baseline figure). */
function ratio(value: number, base: number | undefined): string {
  return base === undefined || !Number.isFinite(value / base) ? '-' : `${round(value / base, 2)}x`;
}

/** A gateway's figures divided by the baseline's of the same mode. */
function vsBaseline(f: FederationFigures, base: FederationFigures | undefined) {
  const of = (value: number, baseValue: number | undefined) => (baseValue ? round(value / baseValue, 3) : null);
  return {
    requestsPerSecond: of(f.requestsPerSecond, base?.requestsPerSecond),
    cpuMsPerQuery: of(f.cpuMsPerQuery, base?.cpuMsPerQuery),
    peakRssMb: of(f.peakRssMb, base?.peakRssMb),
    p99: of(f.latencyMs.p99, base?.latencyMs.p99),
  };
}

export function printFederationReport(report: FederationReport): void {
  const { options, pinned, checks, figures } = report;
  const out: string[] = [
    '',
    `Federation: the gateways benchmark's TestQuery, closed loop of ${options.connections} connections, ` +
      `${options.rounds} alternating round(s) of ${options.seconds} s per gateway after ${options.warmup} s of warm-up; ` +
      (pinned ? `gateway under test on core ${pinned.gateway}, subgraphs and load on ${pinned.rest}` : 'not pinned to cores'),
    '',
    table([
      ['answer check', 'request', 'status', 'errors', 'response KB', 'data KB', 'same data as baseline'],
      ...checks.map((c) => [
        c.gateway,
        c.mode,
        c.status,
        c.errors,
        round(c.responseBytes / 1000, 1),
        round(c.dataBytes / 1000, 1),
        c.sameDataAsBaseline ? 'yes' : 'NO',
      ]),
    ]),
  ];
  for (const mode of ['unique', 'identical'] as const) {
    const rows = figures.filter((f) => f.mode === mode);
    if (rows.length === 0) continue;
    const base = rows.find((f) => f.baseline);
    out.push(
      '',
      mode === 'unique'
        ? 'Unique requests (every body differs: no inbound request to deduplicate; Interchange still shares identical subgraph fetches in flight)'
        : 'Identical requests (the same body every time; Interchange runs with DEDUPLICATE_REQUESTS=true)',
      '',
      table([
        [
          'gateway',
          'requests',
          'requests/s',
          'vs baseline',
          'by round',
          'p50 ms',
          'p99 ms',
          'CPU ms/query',
          'vs baseline',
          '% of core',
          'peak RSS MB',
          'vs baseline',
          'subgraph req/query',
          'failed',
        ],
        ...rows.map((f) => [
          f.gateway,
          f.requests,
          round(f.requestsPerSecond),
          ratio(f.requestsPerSecond, base?.requestsPerSecond),
          f.requestsPerSecondByRound.map((r) => round(r)).join(' '),
          round(f.latencyMs.p50),
          round(f.latencyMs.p99),
          round(f.cpuMsPerQuery, 2),
          ratio(f.cpuMsPerQuery, base?.cpuMsPerQuery),
          round(f.gatewayCorePercent),
          round(f.peakRssMb),
          ratio(f.peakRssMb, base?.peakRssMb),
          round(f.subgraphRequestsPerQuery, 1),
          f.failures.non2xx + f.failures.graphqlErrors + f.failures.connectionErrors,
        ]),
      ]),
    );
  }
  out.push(
    '',
    'failed: non-2xx answers + answers with GraphQL errors + connection errors and timeouts; CPU, % of core and RSS: the gateway process only',
    `other processes on this machine (not the bench's) took ${figures.map((f) => `${round(f.otherCpuSeconds, 1)}`).join(' / ')} CPU s ` +
      `in the windows of ${figures.map((f) => `${f.gateway} ${f.mode}`).join(' / ')}`,
    '',
  );
  process.stdout.write(out.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      bench: 'federation',
      options,
      pinned,
      checks,
      figures: figures.map((f) => ({
        ...f,
        vsBaseline: vsBaseline(
          f,
          figures.find((b) => b.baseline && b.mode === f.mode),
        ),
        seconds: round(f.seconds, 2),
        requestsPerSecond: round(f.requestsPerSecond),
        requestsPerSecondByRound: f.requestsPerSecondByRound.map((r) => round(r)),
        latencyMs: { p50: round(f.latencyMs.p50), p99: round(f.latencyMs.p99), max: round(f.latencyMs.max) },
        cpuMsPerQuery: round(f.cpuMsPerQuery, 3),
        gatewayCorePercent: round(f.gatewayCorePercent),
        otherCpuSeconds: round(f.otherCpuSeconds, 1),
        peakRssMb: round(f.peakRssMb),
        subgraphRequestsPerQuery: round(f.subgraphRequestsPerQuery, 2),
      })),
    }) + '\n',
  );
}
