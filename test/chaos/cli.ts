/**
 * `npm run chaos`: a bounded chaos run against the example system on the mock Kafka cluster
 * (run.ts), its table on stdout, its summary as JSON with --json. Exit code: 0 when every
 * subscriber got every applied event it was owed exactly once and in order and no command placed
 * two orders; 1 when not; 2 when the run itself failed or ran out of time. Whatever it started is
 * stopped on every ending, Ctrl-C included.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Cleanups } from '../kafka/orders-support.ts';
import { formatReport } from './report.ts';
import { runChaos } from './run.ts';

const HELP = `Usage: npm run chaos -- [options]

Starts the example system on a 3-broker mock Kafka cluster, subscribes clients to orderEvents
through the gateway, produces order events (an external producer and placeOrder with idempotency
keys) while killing and restarting processes, taking brokers down and dropping subscribers, then
checks every delivery against the topic read back. At most 10 minutes.

Options:
  --events N         order events the external producer publishes (default 3000)
  --seconds S        length of the fault phase, in seconds (default 240; a minute less than --timeout at most)
  --subscribers N    subscribers, a third each plain, by customer, by types (default 30)
  --commands R       placeOrder commands per second (default 3)
  --drain S          longest drain after the faults, in seconds (default 60)
  --no-resolve       subscribers select only the orders subgraph's fields; by default they also
                     select customer { name }: an entity fetch from the customers subgraph per
                     event and subscription, as a federated client would
  --seed N           seed of the producer's order stream (default 1)
  --timeout S        the whole run's limit, in seconds (default and at most 600)
  --json FILE        also write the summary as JSON to FILE
  -h, --help         this text

Exit code: 0 no defect found; 1 duplicates, missing or out-of-order deliveries, deliveries of
events never applied, or duplicate orders; 2 the run failed or ran out of time.
`;

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n${HELP}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowNegative: true,
    options: {
      events: { type: 'string', default: '3000' },
      seconds: { type: 'string', default: '240' },
      subscribers: { type: 'string', default: '30' },
      commands: { type: 'string', default: '3' },
      drain: { type: 'string', default: '60' },
      seed: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '600' },
      json: { type: 'string' },
      resolve: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function number(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}
const events = Math.round(number('events', values.events, 10, 50_000));
const seconds = number('seconds', values.seconds, 20, 540);
const subscribers = Math.round(number('subscribers', values.subscribers, 3, 300));
const commandRate = number('commands', values.commands, 0.1, 50);
const drainSeconds = number('drain', values.drain, 5, 120);
const seed = Math.round(number('seed', values.seed, 1, 2 ** 31));
const timeoutSeconds = number('timeout', values.timeout, 60, 600);
if (seconds > timeoutSeconds - 60)
  fail(`--seconds must leave a minute of --timeout (${timeoutSeconds} s) to start and check, got ${seconds}`);

const started = Date.now();
const progress = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
const cleanups = new Cleanups();
const abort = new AbortController();

/** Stops everything it started (bounded), then exits. */
let exiting = false;
async function exit(code: number, why?: string): Promise<never> {
  if (!exiting) {
    exiting = true;
    if (why) progress(why);
    abort.abort();
    const forced = setTimeout(() => {
      progress('cleanup did not finish within 15 s; exiting anyway');
      process.exit(code);
    }, 15_000);
    forced.unref();
    await cleanups.run().catch((err: unknown) => progress(`cleanup: ${String(err)}`));
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void exit(2, `${signal}: stopping`));
// The deadline leaves room for the cleanup within the limit.
const deadline = setTimeout(
  () => void exit(2, `the run did not finish within ${timeoutSeconds} s: stopping`),
  (timeoutSeconds - 20) * 1000,
);

try {
  const summary = await runChaos(
    { events, seconds, seed, subscribers, commandRate, resolveCustomer: values.resolve, drainSeconds, progress, signal: abort.signal },
    cleanups,
  );
  clearTimeout(deadline);
  if (values.json) await writeFile(values.json, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`${formatReport(summary)}\n`);
  await exit(summary.ok ? 0 : 1);
} catch (err) {
  await exit(2, `the run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}
