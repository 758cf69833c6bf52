/**
 * Atomic file writes: temporary files left by a process killed during a write are removed by the
 * next process's first write to the same target; nothing else in the directory is.
 *
 * Run: node test/run.ts lib/atomic-file.test.ts
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-atomic-'));
  dirs.push(dir);
  return dir;
};

describe('writeFileAtomically', { timeout: 30_000 }, () => {
  test('removes the temporary files a killed write of the same target left, and only those', { timeout: 10_000 }, async () => {
    const dir = await newDir();
    const kept = [
      'snapshot.json',
      '.other.json.0123abcd.tmp',
      '.snapshot.json.notours.tmp',
      '.snapshot.json.0123abcd.tmp.keep',
      'notes.txt',
    ];
    const leftovers = ['.snapshot.json.0123abcd.tmp', '.snapshot.json.ffffffff.tmp'];
    for (const name of [...kept, ...leftovers]) await writeFile(join(dir, name), 'x');

    await writeFileAtomically(join(dir, 'snapshot.json'), (file) => file.writeFile('new'));

    assert.deepEqual((await readdir(dir)).sort(), [...kept].sort());
    assert.equal(await readFile(join(dir, 'snapshot.json'), 'utf8'), 'new');
  });

  test('concurrent first writes of one target each succeed: neither removes the other’s temporary file', { timeout: 10_000 }, async () => {
    const dir = await newDir();
    const target = join(dir, 'groups.json');
    await writeFile(join(dir, '.groups.json.00000000.tmp'), 'left by a killed process');
    await Promise.all(['a', 'b', 'c'].map((content) => writeFileAtomically(target, (file) => file.writeFile(content))));
    assert.deepEqual(await readdir(dir), ['groups.json']);
    assert.match(await readFile(target, 'utf8'), /^[abc]$/);
  });

  test('a failing write leaves the target as it was and no temporary file', { timeout: 10_000 }, async () => {
    const dir = await newDir();
    const target = join(dir, 'state.json');
    await writeFile(target, 'old');
    await assert.rejects(
      writeFileAtomically(target, async (file) => {
        await file.writeFile('half');
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.deepEqual(await readdir(dir), ['state.json']);
    assert.equal(await readFile(target, 'utf8'), 'old');
  });
});
