import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../lib/config.ts';
import { ChildExitedError, startChild } from '../../lib/supervisor.ts';
import { readCustomersConfig } from './config.ts';
import { waitFor } from '../../test/support/wait.ts';

// Settings from the developer's shell must not leak into the child.
const cleanEnv = { PORT: undefined, HOST: undefined, RESPONSE_DELAY_MS: undefined, LOG_LEVEL: 'info' };

const start = (env: Record<string, string | undefined> = {}, args = ['--port', '0']) =>
  startChild({
    name: 'customers-service',
    entry: 'services/customers/main.ts',
    args,
    env: { ...cleanEnv, ...env },
    listeners: ['http'],
  });

describe('customers service process', () => {
  test('listens on the port it picked, answers requests, and exits 0 on SIGTERM', async (t) => {
    const svc = await start();
    t.after(() => svc.stop());
    const base = `http://127.0.0.1:${svc.ports.http}`;
    const res = await fetch(`${base}/customers/c1`);
    assert.equal(res.status, 200, svc.output());
    assert.equal((await res.json()).id, 'c1');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^customers_http_requests_total\{operation="getCustomer",status="200"\} 1$/m);
    assert.match(metrics, /^process_cpu_seconds_total /m, 'the process registers default metrics');
    assert.equal(await svc.stop(), 0, svc.output());
  });

  test('finishes a request in flight before it exits on SIGTERM', async (t) => {
    // Long enough that the request is still being answered when SIGTERM arrives, whatever the load.
    const svc = await start({ RESPONSE_DELAY_MS: '3000' });
    t.after(() => svc.stop());
    const base = `http://127.0.0.1:${svc.ports.http}`;
    const inFlight = fetch(`${base}/customers/c2`);
    inFlight.catch(() => undefined); // awaited below; handled if the test fails before that
    await waitFor(
      async () => /^customers_http_requests_in_flight 1$/m.test(await (await fetch(`${base}/metrics`)).text()),
      10_000,
      'the request never reached the service',
    );
    const exitCode = svc.stop();
    const res = await inFlight;
    assert.equal(res.status, 200, svc.output());
    assert.equal((await res.json()).id, 'c2');
    assert.equal(await exitCode, 0, svc.output());
  });

  test('exits with code 2 and names PORT when PORT is not a port', async () => {
    await assert.rejects(start({ PORT: 'abc' }, []), (err) => {
      assert.ok(err instanceof ChildExitedError, String(err));
      assert.equal(err.code, 2, err.output);
      assert.match(err.stderr, /^customers-service: invalid configuration/);
      assert.match(err.stderr, /PORT: .*\(got "abc"\)/);
      return true;
    });
  });
});

describe('customers service configuration', () => {
  test('uses the documented defaults', () => {
    assert.deepEqual(readCustomersConfig([], {}), { PORT: 4201, HOST: '127.0.0.1', LOG_LEVEL: 'info', RESPONSE_DELAY_MS: 0 });
  });

  test('lets --port and --host win over PORT and HOST', () => {
    const config = readCustomersConfig(['--port', '0', '--host=::1'], { PORT: '9000', HOST: '0.0.0.0' });
    assert.equal(config.PORT, 0);
    assert.equal(config.HOST, '::1');
  });

  test('names every bad setting at once', () => {
    assert.throws(
      () => readCustomersConfig(['--port', '70000'], { RESPONSE_DELAY_MS: '-5', LOG_LEVEL: 'loud' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.split(':')[0]),
          ['PORT', 'LOG_LEVEL', 'RESPONSE_DELAY_MS'],
        );
        return true;
      },
    );
  });

  test('rejects an unknown command-line flag', () => {
    assert.throws(
      () => readCustomersConfig(['--prot', '1'], {}),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /--prot.*known flags: --port, --host/);
        return true;
      },
    );
  });
});
