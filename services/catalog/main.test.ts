import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { credentials, type requestCallback } from '@grpc/grpc-js';
import { ConfigError } from '../../lib/config.ts';
import { loadProto } from '../../lib/proto.ts';
import type { ProtoGrpcType } from '../../schema/generated/catalog.ts';
import type { Product__Output } from '../../schema/generated/interchange/catalog/v1/Product.ts';
import { ChildExitedError, startChild } from '../../lib/supervisor.ts';
import { readCatalogConfig } from './config.ts';
import { waitFor } from '../../test/support/wait.ts';

const catalog = loadProto<ProtoGrpcType>('catalog.proto').interchange.catalog.v1;

// Settings from the developer's shell must not leak into the child.
const cleanEnv = { PORT: undefined, METRICS_PORT: undefined, HOST: undefined, RESPONSE_DELAY_MS: undefined, LOG_LEVEL: 'info' };

const start = (env: Record<string, string | undefined> = {}, args = ['--port', '0', '--metrics-port', '0']) =>
  startChild({
    name: 'catalog-service',
    entry: 'services/catalog/main.ts',
    args,
    env: { ...cleanEnv, ...env },
    listeners: ['grpc', 'metrics'],
  });

function getProduct(port: number, id: string): Promise<Product__Output> {
  const client = new catalog.Catalog(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise<Product__Output>((resolve, reject) => {
    const callback: requestCallback<Product__Output> = (err, product) => (err ? reject(err) : resolve(product!));
    client.GetProduct({ id }, { deadline: Date.now() + 30_000 }, callback);
  }).finally(() => client.close());
}

describe('catalog service process', () => {
  test('serves gRPC and /metrics on the ports it picked, and exits 0 on SIGTERM', async (t) => {
    const svc = await start();
    t.after(() => svc.stop());
    assert.notEqual(svc.ports.grpc, svc.ports.metrics);
    assert.equal((await getProduct(svc.ports.grpc, 'p1')).id, 'p1');

    const ops = `http://127.0.0.1:${svc.ports.metrics}`;
    const metrics = await fetch(`${ops}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^catalog_grpc_calls_total\{method="GetProduct",code="OK"\} 1$/m);
    assert.match(text, /^process_cpu_seconds_total /m, 'the process registers default metrics');
    const health = await fetch(`${ops}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const unknown = await fetch(`${ops}/nope`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /^application\/problem\+json/);

    assert.equal(await svc.stop(), 0, svc.output());
  });

  test('finishes a call in flight before it exits on SIGTERM', async (t) => {
    // Long enough that the call is still being answered when SIGTERM arrives, whatever the load.
    const svc = await start({ RESPONSE_DELAY_MS: '3000' });
    t.after(() => svc.stop());
    const inFlight = getProduct(svc.ports.grpc, 'p2');
    inFlight.catch(() => undefined); // awaited below; handled if the test fails before that
    await waitFor(
      async () => /^catalog_grpc_calls_in_flight 1$/m.test(await (await fetch(`http://127.0.0.1:${svc.ports.metrics}/metrics`)).text()),
      10_000,
      'the call never reached the service',
    );
    const exitCode = svc.stop();
    assert.equal((await inFlight).id, 'p2');
    assert.equal(await exitCode, 0, svc.output());
  });

  test('exits with code 2 and names every bad port setting', async () => {
    await assert.rejects(start({ PORT: 'abc', METRICS_PORT: '70000' }, []), (err) => {
      assert.ok(err instanceof ChildExitedError, String(err));
      assert.equal(err.code, 2, err.output);
      assert.match(err.stderr, /^catalog-service: invalid configuration/);
      assert.match(err.stderr, /- PORT: .*\(got "abc"\)/);
      assert.match(err.stderr, /- METRICS_PORT: .*\(got "70000"\)/);
      return true;
    });
  });
});

describe('catalog service configuration', () => {
  test('uses the documented defaults', () => {
    assert.deepEqual(readCatalogConfig([], {}), {
      PORT: 4202,
      METRICS_PORT: 4203,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      RESPONSE_DELAY_MS: 0,
    });
  });

  test('lets --port, --metrics-port and --host win over the environment', () => {
    const config = readCatalogConfig(['--port', '0', '--metrics-port', '0', '--host', 'localhost'], {
      PORT: '1',
      METRICS_PORT: '2',
      HOST: '0.0.0.0',
    });
    assert.equal(config.PORT, 0);
    assert.equal(config.METRICS_PORT, 0);
    assert.equal(config.HOST, 'localhost');
  });

  test('rejects a stray argument', () => {
    assert.throws(() => readCatalogConfig(['serve'], {}), ConfigError);
  });
});
