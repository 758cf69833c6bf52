/**
 * The README's error table (section "### Errors") against the error-code registry (lib/errors.ts):
 * every registered code is explained there, and every code the production switch lets through
 * (gateway/src/production.ts), and the table names no code that is neither registered nor one of
 * Apollo Server's own (which pass through unchanged); and the production switch's extensions.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApolloServerErrorCode, ApolloServerValidationErrorCode } from '@apollo/server/errors';
import { ErrorCode } from '../../lib/errors.ts';
import { repoRoot } from '../../lib/supervisor.ts';
import { KEPT_EXTENSIONS, PRODUCTION_CODES } from '../../gateway/src/production.ts';

const readReadme = () => readFile(join(repoRoot, 'README.md'), 'utf8');

/** The codes in the first column of the table under `### Errors`, in order (a row may name several). */
async function readmeErrorCodes(): Promise<string[]> {
  const readme = await readReadme();
  const section = /^### Errors\n([\s\S]*?)(?=^#{1,3} )/m.exec(readme)?.[1];
  assert.ok(section, 'README.md has an "### Errors" section');
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2); // past the header and its rule
  assert.ok(rows.length > 0, 'the Errors section has a table');
  return rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z_]*)`/g)].map((m) => m[1]!));
}

test('the README error table explains every code of the registry', { timeout: 10_000 }, async () => {
  const documented = new Set(await readmeErrorCodes());
  const missing = Object.values(ErrorCode).filter((code) => !documented.has(code));
  assert.deepEqual(missing, [], `codes in lib/errors.ts missing from README.md's error table: ${missing.join(', ')}`);
});

test("the README error table names only registered codes and Apollo Server's own, each once", { timeout: 10_000 }, async () => {
  const codes = await readmeErrorCodes();
  const known = new Set<string>([
    ...Object.values(ErrorCode),
    ...Object.values(ApolloServerErrorCode),
    ...Object.values(ApolloServerValidationErrorCode),
  ]);
  assert.deepEqual(
    codes.filter((code) => !known.has(code)),
    [],
    'codes in the table that nothing sends',
  );
  assert.deepEqual(
    codes.filter((code, i) => codes.indexOf(code) !== i),
    [],
    'codes listed twice',
  );
});

test('the README error table explains every code whose message production keeps', { timeout: 10_000 }, async () => {
  const documented = new Set(await readmeErrorCodes());
  const missing = PRODUCTION_CODES.filter((code) => !documented.has(code));
  assert.deepEqual(missing, [], `codes production keeps that README.md's error table does not explain: ${missing.join(', ')}`);
});

test('the README names exactly the extensions production keeps', { timeout: 10_000 }, async () => {
  const sentence = /keeps only these extensions: ([^(]+)\(`KEPT_EXTENSIONS`\)/.exec(await readReadme())?.[1];
  assert.ok(sentence, 'README.md says which extensions production keeps, naming KEPT_EXTENSIONS');
  const named = [...sentence.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
  assert.deepEqual(named.toSorted(), KEPT_EXTENSIONS.toSorted());
});
