/** The committed artefacts derived from the contracts are what the contracts produce now. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Kind, parse, print, type DirectiveDefinitionNode, type ObjectTypeDefinitionNode } from 'graphql';
import { RESUMABLE_DIRECTIVE, RESUMABLE_SPEC_URL } from '../../lib/resumable.ts';
import { composeSupergraph, schemaDir, supergraphPath } from '../../scripts/composition.ts';

const run = promisify(execFile);

describe('contracts', () => {
  test('schema/supergraph.graphql is what composing the subgraph SDLs gives now', async () => {
    const result = await composeSupergraph();
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    assert.equal(await readFile(supergraphPath, 'utf8'), result.supergraphSdl, 'run `npm run compose`');
  });

  test('the supergraph declares Subscription.orderEvents resumable, with the directive and its spec link', async () => {
    const document = parse(await readFile(supergraphPath, 'utf8'));
    const subscription = document.definitions.find(
      (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Subscription',
    );
    const field = subscription?.fields?.find((f) => f.name.value === 'orderEvents');
    const directive = field?.directives?.find((d) => d.name.value === RESUMABLE_DIRECTIVE);
    assert.ok(directive, 'Subscription.orderEvents has no @resumable');
    assert.equal(print(directive), '@resumable(position: "cursor", argument: "after")');
    const definition = document.definitions.find(
      (d): d is DirectiveDefinitionNode => d.kind === Kind.DIRECTIVE_DEFINITION && d.name.value === RESUMABLE_DIRECTIVE,
    );
    assert.ok(definition, 'the supergraph does not define @resumable');
    assert.equal(
      print({ ...definition, description: undefined }),
      'directive @resumable(position: String!, argument: String!) on FIELD_DEFINITION',
    );
    const links = document.definitions.flatMap((d) => (d.kind === Kind.SCHEMA_DEFINITION ? (d.directives ?? []) : []));
    assert.ok(
      links.some((d) => d.name.value === 'link' && print(d).includes(`"${RESUMABLE_SPEC_URL}"`)),
      'the supergraph does not link the resumable spec',
    );
  });

  test('schema/generated is what the .proto contracts give now', async () => {
    const { stdout } = await run(process.execPath, ['scripts/codegen.ts', '--check'], {
      cwd: join(schemaDir, '..'),
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    assert.match(stdout, /is current/);
  });

  describe('a composition error', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'interchange-compose-'));
      // Two subgraphs that disagree on a shared type's field: composition must refuse.
      await writeFile(
        join(dir, 'a.graphql'),
        'type Query { a: Thing } type Thing @shareable { id: ID! }\nextend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])\n',
      );
      await writeFile(
        join(dir, 'b.graphql'),
        'type Query { b: Thing } type Thing @shareable { id: String! }\nextend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])\n',
      );
      await writeFile(join(dir, 'broken.graphql'), 'type Query { oops: }\n');
      await writeFile(
        join(dir, 'conflict.yaml'),
        'subgraphs:\n  - { name: alpha, schema: a.graphql, url: "http://localhost:1/graphql" }\n  - { name: beta, schema: b.graphql, url: "http://localhost:2/graphql" }\n',
      );
      await writeFile(
        join(dir, 'syntax.yaml'),
        'subgraphs:\n  - { name: gamma, schema: broken.graphql, url: "http://localhost:3/graphql" }\n',
      );
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('names the subgraphs and the reason', async () => {
      const result = await composeSupergraph(join(dir, 'conflict.yaml'));
      assert.equal(result.ok, false);
      const text = result.ok ? '' : result.errors.join('\n');
      assert.match(text, /FIELD_TYPE_MISMATCH/);
      assert.match(text, /alpha/);
      assert.match(text, /beta/);
      assert.match(text, /Thing\.id/);
      // Where: each subgraph's definition of the field, by file, line and column.
      assert.match(text, new RegExp(`${join(dir, 'a.graphql')}:1:\\d+`));
      assert.match(text, new RegExp(`${join(dir, 'b.graphql')}:1:\\d+`));
    });

    test('names the subgraph and file of an SDL syntax error', async () => {
      const result = await composeSupergraph(join(dir, 'syntax.yaml'));
      assert.equal(result.ok, false);
      const text = result.ok ? '' : result.errors.join('\n');
      assert.ok(text.startsWith(`[gamma] ${join(dir, 'broken.graphql')}:1:20: Syntax Error: Expected Name, found "}".`), text);
    });
  });
});
