/** The embedded log's `POST /events`: what it publishes, and how it refuses, coded like every other refusal. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { MemoryEventLog } from '../../../lib/eventlog/memory.ts';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import { closeServer } from '../../../lib/lifecycle.ts';
import type { Logger } from '../../../lib/logger.ts';
import { eventInlet } from './topic.ts';

describe('POST /events', () => {
  const logged: { obj: unknown; message: string }[] = [];
  const logger = { error: (obj: unknown, message: string) => logged.push({ obj, message }) } as unknown as Logger;
  const memory = new MemoryEventLog({ partitions: { 'things.events': 2 } });
  let failing = false;
  const log = {
    publish: (topic: string, records: { key: string; value: string }[]) =>
      failing ? Promise.reject(new Error('EACCES: /srv/secret/eventlog/things.events')) : memory.publish(topic, records),
  } as unknown as EventLog;
  let server: Server;
  let url: string;
  before(async () => {
    const app = express();
    eventInlet(log, 'things.events', { key: 'sku' }, logger)(app);
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });
  after(async () => {
    await closeServer(server);
    await memory.close();
  });

  const post = async (body: string, contentType = 'application/json') => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as { errors?: { message: string; extensions: { code: string } }[] } };
  };
  const refusal = (answer: Awaited<ReturnType<typeof post>>) => [answer.status, answer.body.errors?.[0]?.extensions.code];

  test('publishes each event keyed by its key field', async () => {
    const answer = await post(JSON.stringify([{ sku: 'a' }, { sku: 7 }]));
    assert.equal(answer.status, 200);
    assert.equal((answer.body as { published: unknown[] }).published.length, 2);
  });

  test('malformed JSON is a 400 BAD_REQUEST, and nothing is logged', async () => {
    assert.deepEqual(refusal(await post('{"sku":')), [400, 'BAD_REQUEST']);
    assert.deepEqual(logged, []);
  });

  test('a body over 1 MB is a 413 PAYLOAD_TOO_LARGE', async () => {
    assert.deepEqual(refusal(await post(JSON.stringify({ sku: 'a', pad: 'x'.repeat(1_100_000) }))), [413, 'PAYLOAD_TOO_LARGE']);
  });

  test('a body that is not JSON is a 415', async () => {
    assert.deepEqual(refusal(await post('{"sku":"a"}', 'text/plain')), [415, 'BAD_REQUEST']);
  });

  test('an event without its key, or no event, is a 400 BAD_REQUEST naming why', async () => {
    const keyless = await post(JSON.stringify([{ sku: 'a' }, { other: 1 }]));
    assert.deepEqual(refusal(keyless), [400, 'BAD_REQUEST']);
    assert.equal(keyless.body.errors?.[0]?.message, 'event 1 has no key field `sku`');
    assert.deepEqual(refusal(await post('[]')), [400, 'BAD_REQUEST']);
  });

  test('a log that does not take the events is a 503 that says nothing of why; the cause is logged', async () => {
    failing = true;
    try {
      const answer = await post(JSON.stringify({ sku: 'a' }));
      assert.deepEqual(refusal(answer), [503, 'EVENT_LOG_UNAVAILABLE']);
      assert.doesNotMatch(JSON.stringify(answer.body), /secret|EACCES/);
      assert.match(String((logged.at(-1)?.obj as { err?: Error }).err?.message), /EACCES/);
    } finally {
      failing = false;
    }
  });
});
