/**
 * A separate producer process, written as another team would: plain kafkajs, no Interchange code
 * on the wire path. Publishes the deterministic order stream (order-stream.ts) keyed by order id,
 * optionally with malformed records mixed in, paced to `--rate` records per second, then prints
 * `DONE <count>` and exits.
 *
 *   node test/kafka/producer.ts --brokers H:P,... --topic T --orders N --seed S
 *        [--rate R] [--malformed K] [--prefix P] [--exit-with-stdin]
 *
 * With --exit-with-stdin it exits (code 3) as soon as its stdin ends: a test pipes stdin to it, so
 * the producer stops when the test process dies, however it dies.
 */
import { parseArgs } from 'node:util';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { orderStream } from './order-stream.ts';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    topic: { type: 'string', default: 'orders.events' },
    orders: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 'stream' },
    rate: { type: 'string', default: '0' },
    malformed: { type: 'string', default: '0' },
    batch: { type: 'string', default: '50' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});
if (!values.brokers) throw new Error('--brokers is required');

const orphaned = () => {
  process.stderr.write('producer: stdin closed (the process that started it is gone); exiting\n');
  process.exit(3);
};
if (values['exit-with-stdin']) {
  process.stdin.on('end', orphaned).on('close', orphaned).on('error', orphaned);
  process.stdin.resume();
}

const events = orderStream(Number(values.orders), Number(values.seed), values.prefix);
const records: { key: string; value: string }[] = events.map((e) => ({ key: e.orderId, value: JSON.stringify(e) }));
// Malformed records, spread evenly through the stream, each with a different fault.
const faults = [
  (i: number) => ({ key: `bad-${i}`, value: '{"this is": not json' }),
  (i: number) => ({
    key: `bad-${i}`,
    value: JSON.stringify({
      id: `bad-${i}`,
      type: 'OrderTeleported',
      version: 1,
      occurredAt: new Date().toISOString(),
      orderId: `bad-${i}`,
      data: {},
    }),
  }),
  (i: number) => ({
    key: `bad-${i}`,
    value: JSON.stringify({
      id: `bad-${i}`,
      type: 'OrderPlaced',
      version: 1,
      occurredAt: new Date().toISOString(),
      orderId: `bad-${i}`,
      data: { customerId: 'c1', lines: [] },
    }),
  }),
];
const malformed = Number(values.malformed);
for (let i = 0; i < malformed; i++) {
  records.splice(Math.floor(((i + 1) * records.length) / (malformed + 1)), 0, faults[i % faults.length]!(i));
}

const kafka = new Kafka({
  clientId: 'external-producer',
  brokers: values.brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
});
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const batch = Number(values.batch);
const rate = Number(values.rate);
const started = Date.now();
for (let i = 0; i < records.length; i += batch) {
  await producer.send({ topic: values.topic, acks: -1, messages: records.slice(i, i + batch) });
  if (rate > 0) {
    const due = started + ((i + batch) * 1000) / rate;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
}
await producer.disconnect();
process.stdout.write(`DONE ${records.length}\n`);
if (values['exit-with-stdin']) {
  process.stdin.off('end', orphaned).off('close', orphaned).off('error', orphaned);
  process.stdin.destroy();
}
