/** The scaffolder's writes: a write that fails leaves nothing of the subgraph, not even the directories it made. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeAll } from '../../scripts/scaffold/scaffold.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

test('a failed write removes the files and the directories it created, and puts back the files it replaced', async () => {
  const root = await mkdtemp(join(tmpdir(), 'interchange-write-all-'));
  dirs.push(root);
  await mkdir(join(root, 'schema/subgraphs'), { recursive: true });
  await writeFile(join(root, 'schema/subgraphs.yaml'), 'before\n');
  await writeFile(join(root, 'source.json'), '{}');
  // A file where a directory should be: the last write fails.
  await writeFile(join(root, 'blocked'), '');
  await assert.rejects(
    writeAll(
      root,
      [
        [join(root, 'schema/subgraphs.yaml'), 'after\n'],
        [join(root, 'schema/subgraphs/parcels.graphql'), 'type Query { a: Int }\n'],
        [join(root, 'blocked/inside/file.ts'), ''],
      ],
      [{ from: join(root, 'source.json'), to: join(root, 'schema/events/parcels/a.json') }],
      join(root, 'subgraphs/parcels'),
    ),
    /writing the subgraph failed, nothing is left of it/,
  );
  assert.deepEqual((await readdir(root)).sort(), ['blocked', 'schema', 'source.json']);
  assert.deepEqual((await readdir(join(root, 'schema'))).sort(), ['subgraphs', 'subgraphs.yaml']);
  assert.deepEqual(await readdir(join(root, 'schema/subgraphs')), []);
  assert.equal(await readFile(join(root, 'schema/subgraphs.yaml'), 'utf8'), 'before\n');
});
