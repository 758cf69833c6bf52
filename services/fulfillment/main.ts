/** The fulfillment service as its own process, on Kafka: `node services/fulfillment/main.ts`. */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { kafkaOptions } from '../../lib/eventlog/config.ts';
import { KafkaEventLog } from '../../lib/eventlog/kafka.ts';
import { announceListening, closeServer, listen, runMain } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { createOpsServer } from '../http.ts';
import { processName, readFulfillmentConfig } from './config.ts';
import { Fulfillment } from './fulfillment.ts';

runMain(processName, async () => {
  const config = readFulfillmentConfig();
  const log = createLogger(processName, config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const eventLog = new KafkaEventLog({ ...kafkaOptions(config, config.KAFKA_BROKERS, processName), logger: log });
  const fulfillment = new Fulfillment({
    log: eventLog,
    logger: log,
    payDelayMs: config.PAY_DELAY_MS,
    shipDelayMs: config.SHIP_DELAY_MS,
    groupId: config.GROUP_ID,
  });
  await fulfillment.start();
  const ops = createOpsServer(registry);
  const port = await listen(ops, config.METRICS_PORT, config.HOST);
  announceListening(log, 'metrics', config.HOST, port);
  return {
    log,
    stoppable: {
      stop: async () => {
        await closeServer(ops);
        await fulfillment.stop();
        await eventLog.close();
      },
    },
  };
});
