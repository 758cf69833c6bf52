import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../lib/logger.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { fileOrigin, urlOrigin } from './origin.ts';

const log = createLogger('test', 'silent');

describe('a supergraph served over HTTP', { timeout: 30_000 }, () => {
  let server: Server;
  let url: string;
  let body = 'type Query { a: Int }';
  let status = 200;
  const conditional: (string | undefined)[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const etag = `"${body.length}"`;
      conditional.push(req.headers['if-none-match']);
      if (status !== 200) return void res.writeHead(status).end();
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
      res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('is read, then asked with If-None-Match: unchanged is a 304, a change comes whole', async () => {
    const origin = urlOrigin(url, 60_000, 5_000);
    assert.equal(await origin.read(), body);
    assert.equal(await origin.read(), undefined, 'unchanged');
    body = 'type Query { a: Int b: Int }';
    assert.equal(await origin.read(), body);
    assert.deepEqual(conditional.slice(-3), [undefined, '"21"', '"21"']);
  });

  test('an error answer is refused naming the URL and the setting', async () => {
    status = 503;
    await assert.rejects(
      urlOrigin(url, 60_000, 5_000).read(),
      new RegExp(`cannot fetch the supergraph from ${url} \\(SUPERGRAPH_URL\\): HTTP 503`),
    );
    status = 200;
  });

  test('is polled every pollMs until the watch stops', async () => {
    let polls = 0;
    const stop = urlOrigin(url, 20, 5_000).watch(() => polls++);
    await waitFor(() => polls >= 3, 5_000, 'not polled', 5);
    stop();
    const seen = polls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(polls, seen, 'no poll after the watch stopped');
  });
});

describe('a supergraph file', { timeout: 30_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interchange-origin-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a change to it (written in place or replaced) is noticed once it settles; other files are not', async () => {
    const path = join(dir, 'supergraph.graphql');
    await writeFile(path, 'one');
    let changes = 0;
    const stop = fileOrigin(path, log, 50).watch(() => changes++);
    try {
      await writeFile(join(dir, 'other.graphql'), 'x');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(changes, 0, 'another file is no change');
      await writeFile(path, 'two');
      await waitFor(() => changes >= 1, 5_000, 'the change was not noticed', 10);
      const afterWrite = changes;
      await writeFile(`${path}.tmp`, 'three');
      await rename(`${path}.tmp`, path);
      await waitFor(() => changes > afterWrite, 5_000, 'the replacement was not noticed', 10);
    } finally {
      stop();
    }
  });

  test('one that cannot be read is refused naming the file and the setting', async () => {
    await assert.rejects(
      fileOrigin(join(dir, 'missing.graphql'), log).read(),
      /cannot read the supergraph file .*missing\.graphql \(SUPERGRAPH\): ENOENT/,
    );
  });
});
