/**
 * The embedded event log's files under a failing disk: an append is all or nothing, so a write
 * cut short (ENOSPC, EIO) leaves no partial line and no stray record, and the files load whole.
 * The failures are injected through `LogFilesOptions.io`.
 *
 * Run: node test/run.ts lib/eventlog/files.test.ts
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ftruncateSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogFiles, type AppendIo, type StoredRecord } from './files.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-logfiles-'));
  dirs.push(dir);
  return dir;
};

const record = (value: string): StoredRecord => ({ key: 'k', value, headers: {}, timestamp: 1 });

/**
 * Real writes until `failAfterBytes` bytes have gone out in total, then a write of part of what is
 * asked and an ENOSPC on the next call, as a filling disk does.
 */
function fillingDisk(failAfterBytes: number, truncate: AppendIo['truncate'] = ftruncateSync): AppendIo {
  let left = failAfterBytes;
  return {
    write(fd, bytes, offset) {
      if (left <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const written = writeSync(fd, bytes, offset, Math.min(left, bytes.length - offset));
      left -= written;
      return written;
    },
    truncate,
  };
}

const values = (files: LogFiles, topic: string) =>
  files
    .load()
    .topics.get(topic)
    ?.map((records) => records.map((r) => r.value));

describe('LogFiles append', { timeout: 30_000 }, () => {
  test(
    'a write failing part-way leaves no partial line: the next record follows the whole ones and all load',
    { timeout: 10_000 },
    async () => {
      const dir = await newDir();
      const files = new LogFiles({ dir, io: fillingDisk(30) });
      files.createTopic('t', 1);
      files.append('t', new Map([[0, [record('first')]]]));
      assert.throws(() => files.append('t', new Map([[0, [record('lost-'.repeat(10))]]])), /ENOSPC/);
      await files.close();

      const reopened = new LogFiles({ dir });
      assert.deepEqual(values(reopened, 't'), [['first']]);
      reopened.append('t', new Map([[0, [record('acknowledged')]]]));
      await reopened.close();
      assert.deepEqual(values(new LogFiles({ dir }), 't'), [['first', 'acknowledged']]);
    },
  );

  test('an append over several partitions failing on a later one cuts the earlier ones back', { timeout: 10_000 }, async () => {
    const dir = await newDir();
    const files = new LogFiles({ dir, io: fillingDisk(60) });
    files.createTopic('t', 2);
    assert.throws(
      () =>
        files.append(
          't',
          new Map([
            [0, [record('zero')]],
            [1, [record('one-'.repeat(20))]],
          ]),
        ),
      /ENOSPC/,
    );
    await files.close();
    assert.equal(await readFile(join(dir, 'topics', 't', '0.ndjson'), 'utf8'), '');
    assert.equal(await readFile(join(dir, 'topics', 't', '1.ndjson'), 'utf8'), '');
    assert.deepEqual(values(new LogFiles({ dir }), 't'), [[], []]);
  });

  test(
    'when a failed append cannot be undone, later appends refuse instead of writing after a partial line',
    { timeout: 10_000 },
    async () => {
      const dir = await newDir();
      const files = new LogFiles({
        dir,
        io: fillingDisk(10, () => {
          throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
        }),
      });
      files.createTopic('t', 1);
      assert.throws(() => files.append('t', new Map([[0, [record('torn')]]])), /ENOSPC/);
      assert.throws(() => files.append('t', new Map([[0, [record('next')]]])), /could not be undone \(Error: EIO/);
      await files.close();
    },
  );
});
