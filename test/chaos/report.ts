/**
 * The chaos run's summary: per subscriber class and in total, what was owed and what arrived; the
 * commands; the faults; and the verdict. `summarize` is pure (tested); `formatReport` renders it.
 */
import type { CommandDiff, DeliveryDiff } from './expect.ts';
import type { FaultRecord } from './faults.ts';
import type { ModelResult } from './model.ts';
import type { SubscriberClass } from './subscribers.ts';

export interface SubscriberResult extends DeliveryDiff {
  name: string;
  class: SubscriberClass;
  filter: string;
  afterAs: 'literal' | 'variable';
  status: boolean;
  /** Endings it did not ask for, by code. */
  signals: Record<string, number>;
  /** Results with errors on a stream that went on (partial data or none), by code. */
  erroredResults: Record<string, number>;
  statuses: number;
  subscriptions: number;
  liveRestarts: number;
}

/** The delivery counts of a class of subscribers, added up. */
export interface ClassRow extends Omit<DeliveryDiff, 'missingSample' | 'duplicateSample'> {
  subscribers: number;
  erroredResults: Record<string, number>;
  signalled: Record<string, number>;
}

export interface Summary {
  ok: boolean;
  /** Why it failed, one line each; empty when ok. */
  failures: string[];
  settings: { events: number; seconds: number; seed: number; subscribers: number; commandRate: number; resolveCustomer: boolean };
  idempotency: string;
  log: ModelResult['counts'] & { producerRecords: number | null; hostileRecords: number };
  classes: Record<SubscriberClass | 'total', ClassRow>;
  commands: CommandDiff & { errors: Record<string, number> };
  faults: FaultRecord[];
  subscribers: SubscriberResult[];
  /** How long each phase took, in ms. */
  timings: Record<string, number>;
  /** What went wrong with the run itself (a producer that failed, a drain that never settled). */
  notes: string[];
}

const CLASSES: readonly (SubscriberClass | 'total')[] = ['plain', 'customer', 'types', 'total'];
const LABELS: Record<SubscriberClass | 'total', string> = { plain: 'plain', customer: 'by customer', types: 'by types', total: 'total' };

function classRow(rows: readonly SubscriberResult[]): ClassRow {
  const row: ClassRow = {
    subscribers: rows.length,
    expected: 0,
    delivered: 0,
    duplicated: 0,
    missing: 0,
    excused: 0,
    outOfOrder: 0,
    unexpected: 0,
    erroredResults: {},
    signalled: {},
  };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
  };
  for (const r of rows) {
    for (const k of ['expected', 'delivered', 'duplicated', 'missing', 'excused', 'outOfOrder', 'unexpected'] as const) row[k] += r[k];
    add(row.signalled, r.signals);
    add(row.erroredResults, r.erroredResults);
  }
  return row;
}

/** What breaks the delivery promise or the commands' safety: each a failure of the run. */
export function verdict(total: ClassRow, commands: CommandDiff): string[] {
  const failures: string[] = [];
  if (total.duplicated) failures.push(`${total.duplicated} duplicate deliveries`);
  if (total.missing) failures.push(`${total.missing} missing deliveries`);
  if (total.outOfOrder) failures.push(`${total.outOfOrder} deliveries out of order`);
  if (total.unexpected) failures.push(`${total.unexpected} deliveries of events never applied`);
  if (commands.duplicateOrders) failures.push(`${commands.duplicateOrders} duplicate orders (${commands.keysWithDuplicates} commands)`);
  if (commands.acknowledgedNotPlaced) failures.push(`${commands.acknowledgedNotPlaced} acknowledged orders not in the log`);
  return failures;
}

export function summarize(input: Omit<Summary, 'ok' | 'failures' | 'classes'>): Summary {
  const classes = Object.fromEntries(
    CLASSES.map((c) => [c, classRow(c === 'total' ? input.subscribers : input.subscribers.filter((s) => s.class === c))]),
  ) as Summary['classes'];
  const failures = verdict(classes.total, input.commands);
  return { ok: failures.length === 0, failures, classes, ...input };
}

const signalsText = (signals: Record<string, number>) =>
  Object.entries(signals)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ') || '-';

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].map((l) => l.trimEnd()).join('\n');
}

export function formatReport(s: Summary): string {
  const { log, commands } = s;
  const out: string[] = [];
  out.push(
    `chaos run: ${s.settings.events} events over ${s.settings.seconds} s, seed ${s.settings.seed}, ${s.settings.subscribers} subscribers, ` +
      `${s.settings.commandRate} placeOrder/s${s.settings.resolveCustomer ? ', customer names resolved per event' : ''}`,
  );
  out.push(
    `log: ${log.records} records (producer ${log.producerRecords ?? '?'}, hostile ${log.hostileRecords}, the rest from commands and fulfillment); ` +
      `applied ${log.applied}, duplicates ${log.duplicate}, malformed ${log.malformed}, outside the life cycle ${log.refused}` +
      (log.splitOrders ? `; ${log.splitOrders} orders span partitions` : ''),
  );
  out.push('');
  out.push(
    table(
      [
        'subscribers',
        'n',
        'expected',
        'delivered',
        'duplicated',
        'missing',
        'excused',
        'out of order',
        'unexpected',
        'errored',
        'signalled',
      ],
      CLASSES.map((c) => {
        const r = s.classes[c];
        return [
          LABELS[c],
          ...[
            r.subscribers,
            r.expected,
            r.delivered,
            r.duplicated,
            r.missing,
            r.excused,
            r.outOfOrder,
            r.unexpected,
            sum(r.erroredResults),
          ].map(String),
          signalsText(r.signalled),
        ];
      }),
    ),
  );
  out.push(`errored: results with errors on a stream that went on, by code: ${signalsText(s.classes.total.erroredResults)}`);
  out.push('signalled: endings the subscriber did not ask for (CLOSED_<code>: its socket closed), by code');
  for (const afterAs of ['literal', 'variable'] as const) {
    const rows = s.subscribers.filter((r) => r.afterAs === afterAs);
    out.push(`  resuming with \`after\` as a ${afterAs} (${rows.length} subscribers): ${signalsText(classRow(rows).signalled)}`);
  }
  out.push('');
  out.push(
    `commands (idempotency keys ${s.idempotency}): ${commands.commands} commands, ${commands.attempts} attempts, ` +
      `${commands.acknowledged} acknowledged, ${commands.failed} given up; ${commands.ordersPlaced} orders placed, ` +
      `${commands.duplicateOrders} duplicate orders (${commands.keysWithDuplicates} keys), ${commands.acknowledgedNotPlaced} acknowledged but not placed`,
  );
  out.push(`  failed attempts by code: ${signalsText(commands.errors)}`);
  out.push('');
  out.push('faults:');
  for (const f of s.faults)
    out.push(
      `  ${(f.atMs / 1000).toFixed(1).padStart(6)} s  ${f.ok ? 'ok  ' : 'FAIL'}  ${f.name}: ${f.detail} (${(f.tookMs / 1000).toFixed(1)} s)`,
    );
  const worst = s.subscribers.filter((r) => r.missing || r.duplicated || r.outOfOrder || r.unexpected).slice(0, 8);
  if (worst.length) {
    out.push('');
    out.push('subscribers with defects (first 8):');
    for (const r of worst)
      out.push(
        `  ${r.name} [${r.filter}; after as ${r.afterAs}${r.status ? '; status' : ''}]: missing ${r.missing} ${JSON.stringify(r.missingSample)}, ` +
          `duplicated ${r.duplicated} ${JSON.stringify(r.duplicateSample)}, out of order ${r.outOfOrder}, unexpected ${r.unexpected}; signals ${signalsText(r.signals)}; ` +
          `${r.subscriptions} subscriptions, ${r.liveRestarts} live restarts`,
      );
  }
  for (const note of s.notes) out.push(`note: ${note}`);
  out.push('');
  out.push(s.ok ? 'verdict: PASS' : `verdict: FAIL (${s.failures.join('; ')})`);
  return out.join('\n');
}
