/**
 * `npm test`'s runner: Node's own test runner over every `*.test.ts`, in bounded time.
 *
 * - Prerequisites outside npm (Chromium, gcc, librdkafka-dev) are checked first: a missing one ends
 *   the run at once with one line naming the Debian package.
 * - The Kafka mock broker is compiled once, before any test runs, so no test's deadline pays for it.
 * - Test files run in parallel (`--concurrency`, default: the number of cores, at least 2); each
 *   shares nothing with the others (ports 0, their own temporary directories and topics).
 * - Every test and hook has a deadline (`--test-timeout`, default 120 s, unless the test sets its
 *   own), every file one too (TEST_FILE_TIMEOUT_MS, test/support/file-deadline.ts), and the whole
 *   run one (`--run-timeout`, default 40 min): past it, the runner's whole process group is killed,
 *   so `npm test` cannot outlive its own timeouts.
 * - Every process of the run gets a DATA_DIR in a temporary directory, removed at the end: a process
 *   a test starts without a DATA_DIR of its own never writes into the project's `.data/`. Each test
 *   file gets a directory of its own in it (test/support/file-data-dir.ts), so files running side
 *   by side never share a gateway's usage record or any other file.
 * - The runner leads a process group of its own; when it is done, anything still in that group was
 *   left behind by a test: it is named, killed, and the run fails. A signal to this process (Ctrl-C,
 *   a closed terminal) stops the group; so does this process's death (test/support/group-leader.ts).
 *
 *   node test/run.ts [--concurrency N] [--test-timeout MS] [--run-timeout MS] [FILE ...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { buildMockBroker } from './kafka/mock-cluster.ts';
import { missing, prerequisites, type PrerequisiteName } from './support/prerequisites.ts';
import { groupMembers, signalGroup } from './support/processes.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const TEST_DIRS = ['lib', 'gateway', 'subgraphs', 'services', 'scripts', 'test'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    concurrency: { type: 'string', default: String(Math.max(2, availableParallelism())) },
    'test-timeout': { type: 'string', default: '120000' },
    'run-timeout': { type: 'string', default: String(40 * 60_000) },
  },
});

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

function fail(line: string): never {
  process.stderr.write(`npm test: ${line}\n`);
  process.exit(1);
}

const concurrency = positiveInt('concurrency', values.concurrency);
const testTimeoutMs = positiveInt('test-timeout', values['test-timeout']);
const runTimeoutMs = positiveInt('run-timeout', values['run-timeout']);

function testFiles(): string[] {
  if (positionals.length > 0) return positionals;
  return TEST_DIRS.flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.test.ts') && !e.parentPath.includes('node_modules'))
      .map((e) => relative(repoRoot, join(e.parentPath, e.name))),
  ).sort();
}

const problems = (Object.keys(prerequisites) as PrerequisiteName[]).map(missing).filter((m) => m !== undefined);
if (problems.length > 0) fail(problems.join('\nnpm test: '));
try {
  await buildMockBroker();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

const files = testFiles();
const runDataDir = mkdtempSync(join(tmpdir(), 'interchange-test-data-'));
const runner = spawn(
  process.execPath,
  [
    'test/support/group-leader.ts',
    process.execPath,
    '--import',
    './test/support/file-deadline.ts',
    '--import',
    './test/support/file-data-dir.ts',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${testTimeoutMs}`,
    '--test-force-exit',
    ...files,
  ],
  // A process group of its own, led by group-leader.ts, which kills the group if this process dies
  // without a word (SIGKILL) and so cannot stop the run itself.
  { cwd: repoRoot, env: { ...process.env, DATA_DIR: runDataDir }, stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true },
);
const pgid = runner.pid!;
const exited = new Promise<number>((done) => runner.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0))));

let timedOut = false;
const stopRun = (reason: string) => {
  process.stderr.write(`npm test: ${reason}; stopping every test process\n`);
  signalGroup(pgid, 'SIGTERM');
  setTimeout(() => signalGroup(pgid, 'SIGKILL'), 10_000).unref();
};
const deadline = setTimeout(() => {
  timedOut = true;
  stopRun(`the run did not finish within its ${runTimeoutMs / 60_000} min limit (--run-timeout)`);
}, runTimeoutMs);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stopRun(`${signal} received`));

let code = await exited;
clearTimeout(deadline);

// Whatever is still in the group was started by a test and not stopped. Give graceful shutdowns a
// moment, then name and kill what is left.
for (let waited = 0; groupMembers(pgid).length > 0 && waited < 10_000; waited += 250) await delay(250);
const leftovers = groupMembers(pgid);
if (leftovers.length > 0) {
  for (const { pid, command } of leftovers) process.stderr.write(`npm test: left running by a test: ${pid} ${command}\n`);
  signalGroup(pgid, 'SIGKILL');
  code ||= 1;
}
if (timedOut) code ||= 1;
rmSync(runDataDir, { recursive: true, force: true });
process.exit(code);
