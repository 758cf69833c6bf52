/**
 * `npm run codegen`: generates TypeScript types for the gRPC contracts in schema/proto into
 * schema/generated/, with the same loader options the services use at run time (lib/proto.ts).
 * `--check` fails when the committed types differ from what the contracts produce now.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { protoDir, protoGenFlags } from '../lib/proto.ts';

const run = promisify(execFile);
const outDir = resolve(protoDir, '../generated');
const generator = resolve(protoDir, '../../node_modules/.bin/proto-loader-gen-types');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/**
 * Generates the types of every .proto in `protos` into `into`, paths in them written as under
 * schema/proto/; resolves with the files written, relative to `into`. (`interchange subgraph new`
 * calls it too, for a project with a new .proto.)
 */
export async function generateTypes(protos: string, into: string): Promise<string[]> {
  const files = (await readdir(protos)).filter((f) => f.endsWith('.proto'));
  await run(generator, [...files, ...protoGenFlags, '--grpcLib=@grpc/grpc-js', `--outDir=${into}`, `--includeDirs=${protos}`]);
  // The generator writes the absolute source path into each file; keep the output independent of
  // where the checkout lives. Its relative imports have no extension; Node's resolution (which
  // the type checker follows) needs the file's own, `.ts`.
  const written = await listFiles(into);
  for (const file of written) {
    const text = await readFile(join(into, file), 'utf8');
    const portable = text.replaceAll(`${protos}/`, 'schema/proto/').replace(/(from '\.{1,2}\/[^']+?)(?<!\.ts)'/g, "$1.ts'");
    await writeFile(join(into, file), portable);
  }
  return written;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const scratch = await mkdtemp(join(tmpdir(), 'interchange-codegen-'));
  try {
    await generateTypes(protoDir, scratch);
    if (values.check) {
      const [fresh, committed] = await Promise.all([listFiles(scratch), listFiles(outDir).catch(() => [])]);
      const stale = fresh.length !== committed.length || fresh.some((f, i) => f !== committed[i]);
      for (const file of stale ? [] : fresh) {
        const [a, b] = await Promise.all([readFile(join(scratch, file), 'utf8'), readFile(join(outDir, file), 'utf8')]);
        if (a !== b) {
          process.stderr.write(`schema/generated/${file} is out of date: run \`npm run codegen\`\n`);
          process.exit(1);
        }
      }
      if (stale) {
        process.stderr.write('schema/generated/ does not match schema/proto: run `npm run codegen`\n');
        process.exit(1);
      }
      process.stdout.write('schema/generated is current\n');
    } else {
      await rm(outDir, { recursive: true, force: true });
      await cp(scratch, outDir, { recursive: true });
      process.stdout.write(`wrote ${outDir}\n`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
