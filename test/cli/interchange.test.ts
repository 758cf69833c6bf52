/**
 * The `interchange` command-line tool as users run it (`npx interchange`, a child process): its help,
 * `compose` (errors with file, line and column; `--check`), and `token`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { createTokenVerifier } from '../../gateway/src/auth/tokens.ts';
import { ALL_SCOPES } from '../../lib/auth/principal.ts';
import { createLogger } from '../../lib/logger.ts';
import { repoRoot } from '../../lib/supervisor.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../scripts/dev-auth.ts';
import { supergraphPath } from '../../scripts/composition.ts';
import { readRegistry } from '../../scripts/registry.ts';
import { interchange, type Run } from '../support/interchange.ts';

/** The commands `--help` lists, with their one-line summaries. */
const commands = (help: string): Map<string, string> =>
  new Map(
    [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z-]+)(?: \[options\])?(?: <[^>]+>)* +(\S.*)$/gm)]
      .filter((m) => m[1] !== 'help')
      .map((m) => [m[1]!, m[2]!]),
  );

/** The project registry's processes (its services, then its subgraphs), as `interchange compose` names the containers it removes. */
const projectProcesses = async () => (await readRegistry()).processes.map((p) => p.name).join(', ');

describe('npx interchange', () => {
  test('is the package bin, and `npx interchange --help` lists every command with one line', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['interchange'], 'scripts/interchange.ts');
    const npx = await new Promise<Run>((resolve) => {
      execFile(
        'npx',
        ['--no-install', 'interchange', '--help'],
        { cwd: repoRoot, timeout: 60_000, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(npx.code, 0, npx.stderr);
    assert.deepEqual([...commands(npx.stdout).keys()].sort(), ['check', 'compose', 'subgraph', 'token']);
  });

  test('every command has its own --help, with its options', async () => {
    const listed = commands((await interchange(['--help'])).stdout);
    for (const [command, summary] of listed) {
      const help = await interchange([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^Usage: interchange ${command} `), command);
      assert.match(help.stdout, /Options:/, command);
      assert.ok(summary.length > 10, `${command} has no summary`);
    }
  });

  test('subgraph new --from-topic needs --event-schemas, and takes no --service-url', async () => {
    const events = join(repoRoot, 'test/fixtures/contracts/inventory-events');
    for (const [args, message] of [
      [['--from-topic', 'stock.events'], /error: --from-topic needs --event-schemas <dir>/],
      [['--from-topic', 'stock.events', '--event-schemas', events, '--service-url', 'http://x'], /--service-url is for --from-openapi/],
      [['--event-schemas', events], /error: give one contract/],
      [['--from-topic', 'stock.events', '--event-schemas', events, '--from-proto', 'x.proto'], /error: give one contract/],
    ] as const) {
      const run = await interchange(['subgraph', 'new', 'stock', ...args, '--root', join(repoRoot, 'no-such-root')]);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  test('an unknown command or option exits non-zero and says what is wrong', async () => {
    const unknown = await interchange(['frobnicate']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const option = await interchange(['compose', '--nope']);
    assert.notEqual(option.code, 0);
    assert.match(option.stderr, /unknown option '--nope'/);
  });

  describe('compose', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'interchange-cli-'));
      await writeFile(
        join(dir, 'ok.graphql'),
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\ntype Query { thing(id: ID!): Thing }\ntype Thing @key(fields: "id") { id: ID! name: String }\n',
      );
      await writeFile(join(dir, 'broken.graphql'), 'type Query {\n  thing(id: ID!): Thing\n  oops:\n}\n');
      const registry = (schema: string) => `subgraphs:\n  - name: things\n    schema: ${schema}\n    url: http://localhost:4999/graphql\n`;
      await writeFile(join(dir, 'ok.yaml'), registry('ok.graphql'));
      await writeFile(join(dir, 'broken.yaml'), registry('broken.graphql'));
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('writes the supergraph of a registry, and --check then finds it current', async () => {
      const out = join(dir, 'supergraph.graphql');
      const wrote = await interchange(['compose', '--registry', join(dir, 'ok.yaml'), '--out', out]);
      assert.equal(wrote.code, 0, wrote.stderr);
      assert.match(await readFile(out, 'utf8'), /join__graph\(name: "things", url: "http:\/\/localhost:4999\/graphql"\)/);
      const check = await interchange(['compose', '--registry', join(dir, 'ok.yaml'), '--out', out, '--check']);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /is current/);
    });

    test('--check exits 1 when the supergraph file is out of date', async () => {
      const out = join(dir, 'stale.graphql');
      await writeFile(out, 'type Query { stale: Int }\n');
      const check = await interchange(['compose', '--registry', join(dir, 'ok.yaml'), '--out', out, '--check']);
      assert.equal(check.code, 1);
      assert.match(check.stderr, /stale\.graphql is out of date: run `npx interchange compose`/);
    });

    test('an SDL syntax error exits 1 naming the subgraph, the file, the line and the column', async () => {
      const out = join(dir, 'never.graphql');
      const failed = await interchange(['compose', '--registry', join(dir, 'broken.yaml'), '--out', out]);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, new RegExp(`\\[things\\] ${join(dir, 'broken.graphql')}:4:1: Syntax Error: Expected Name, found "}"`));
      await assert.rejects(readFile(out), { code: 'ENOENT' });
    });

    test('keeps a Compose file in step with the registry: a container per subgraph it runs, and --check then finds it current', async () => {
      const registry = join(dir, 'with-entry.yaml');
      await writeFile(
        registry,
        `subgraphs:\n  - name: things\n    schema: ok.graphql\n    url: http://localhost:4999/graphql\n    entry: subgraphs/things/main.ts\n`,
      );
      const composeFile = join(dir, 'docker-compose.yml');
      await writeFile(composeFile, await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8'));
      const out = join(dir, 'things.graphql');
      const run = await interchange(['compose', '--registry', registry, '--out', out, '--compose-file', composeFile]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        new RegExp(`updated .*docker-compose\\.yml \\(added things-subgraph; removed ${await projectProcesses()}\\)`),
      );
      const text = await readFile(composeFile, 'utf8');
      assert.match(text, /\n {2}things-subgraph:\n {4}<<: \*interchange\n {4}command: \["node", "subgraphs\/things\/main\.ts"\]/);
      assert.match(text, /SUBGRAPH_URLS: things=http:\/\/things-subgraph:4999\/graphql\n/);
      const check = await interchange(['compose', '--registry', registry, '--out', out, '--compose-file', composeFile, '--check']);
      assert.equal(check.code, 0, check.stderr);
      await writeFile(composeFile, await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8'));
      const stale = await interchange(['compose', '--registry', registry, '--out', out, '--compose-file', composeFile, '--check']);
      assert.equal(stale.code, 1);
      assert.match(
        stale.stderr,
        new RegExp(`docker-compose\\.yml does not match the registry \\(added things-subgraph; removed ${await projectProcesses()}\\)`),
      );
    });

    test('the committed supergraph is what the project registry composes to', async () => {
      const check = await interchange(['compose', '--check']);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, new RegExp(`${supergraphPath.slice(repoRoot.length + 1)} is current`));
    });
  });

  describe('token', () => {
    let dataDir: string;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'interchange-cli-token-'));
    });
    after(async () => {
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    test("prints a token for the customer and scopes asked for, from the data directory's key set", async () => {
      const run = await interchange(['token', '--customer', 'c3', '--scopes', 'orders:write', '--expires', '30m', '--data-dir', dataDir]);
      assert.equal(run.code, 0, run.stderr);
      const claims = decodeJwt(run.stdout.trim());
      assert.equal(claims['customer_id'], 'c3');
      assert.equal(claims['scope'], 'orders:write');
      assert.equal(claims.exp! - claims.iat!, 1800);
    });

    test('--admin prints a token with every scope the example policy uses, which the gateway accepts', async () => {
      const run = await interchange(['token', '--admin', '--data-dir', dataDir]);
      assert.equal(run.code, 0, run.stderr);
      // The scopes of the example policy: what the SDLs require (@requiresScopes) and what the subgraphs' own rules check (lib/auth/principal.ts).
      const sdls = await Promise.all((await readRegistry()).subgraphs.map((s) => readFile(join(repoRoot, 'schema', s.schema), 'utf8')));
      const required = sdls.flatMap((sdl) =>
        [...sdl.matchAll(/@requiresScopes\(scopes: (\[.*?\]\])\)/g)].flatMap((m) => (JSON.parse(m[1]!) as string[][]).flat()),
      );
      assert.ok(required.length > 0, 'no @requiresScopes in the example SDLs');
      const policy = [...new Set([...required, ...ALL_SCOPES])].sort();
      const verifier = createTokenVerifier({
        jwksFile: join(dataDir, 'auth', 'jwks.json'),
        issuer: DEV_ISSUER,
        audience: DEV_AUDIENCE,
        log: createLogger('test', 'silent'),
      });
      const verified = await verifier.verify(run.stdout.trim());
      assert.ok(!(verified instanceof Error), `the gateway's verifier refused it: ${String(verified)}`);
      assert.deepEqual([...verified.principal.scopes].sort(), policy);
    });

    test('refuses a lifetime it cannot read', async () => {
      const run = await interchange(['token', '--expires', 'soon', '--data-dir', dataDir]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /--expires <time>' argument 'soon' is invalid/);
      assert.equal(run.stdout, '');
    });
  });
});
