/**
 * A Kafka-protocol broker for tests: the librdkafka mock cluster, started as
 * a child process (test/kafka/mock-broker.c) and driven over its stdin/stdout.
 * See DESIGN.md, "Kafka in tests on these machines".
 *
 *   await buildMockBroker();               // once per test file, cached on disk
 *   const cluster = await startMockCluster({ brokers: 3, topics: [{ name: 'orders', partitions: 3 }] });
 *   new Kafka({ brokers: cluster.brokers, ... });
 *   await cluster.brokerDown(2); ... await cluster.brokerUp(2);
 *   await cluster.stop();
 *
 * Brokers are numbered 1..N; `brokers[i]` is broker i + 1; they listen on
 * 127.0.0.1 on ephemeral ports. Nothing is persisted. The child exits when
 * its stdin closes, and on Linux also when this process dies, so a crashed
 * test run leaves no broker behind. While idle the child does not keep this
 * process alive (a forgotten stop() cannot hang a test run).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams, ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requirePrerequisites } from '../support/prerequisites.ts';
import { scaled } from '../support/wait.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = join(repoRoot, 'test', 'kafka', 'mock-broker.c');
const BINARY = join(repoRoot, '.build', 'mock-broker');

const INSTALL_HINT = 'install them with: apt-get install -y gcc librdkafka-dev';
const COMPILE_TIMEOUT_MS = 120_000;
const STDERR_KEEP_CHARS = 16_384;

export interface MockTopic {
  name: string;
  partitions: number;
}

export interface MockClusterOptions {
  /** Number of brokers, 1..32 (default 1). They get ids 1..N. */
  brokers?: number;
  /** Topics created before the cluster reports ready. */
  topics: MockTopic[];
  /** Start-up deadline; the child is killed after it (default 60 s, scaled by TEST_TIME_SCALE). */
  startTimeoutMs?: number;
  /** Deadline for one control command; the child is killed after it (default 60 s, scaled). */
  commandTimeoutMs?: number;
  /** How long stop() waits for a clean exit before SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
}

export interface MockCluster {
  /** Comma-separated host:port list, for `bootstrap.servers`-style settings. */
  readonly bootstrap: string;
  /** host:port of each broker; brokers[i] is broker id i + 1. */
  readonly brokers: string[];
  /** Process id of the mock-broker child. */
  readonly pid: number;
  /** What the child wrote to stderr so far (its tail), for diagnostics. */
  readonly stderr: string;
  /** Disconnects the broker and refuses new connections (no leader change). Id -1: all. */
  brokerDown(id: number): Promise<void>;
  /** Lets the broker accept connections again. Id -1: all. */
  brokerUp(id: number): Promise<void>;
  /** The next requests of this API key fail with these codes, in order. */
  pushRequestErrors(apiKey: number, ...codes: number[]): Promise<void>;
  /** Moves the partition's leader (brokerId -1: leaderless). */
  setLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /** Delays every response of the broker by `ms`. Id -1: all. */
  setRtt(brokerId: number, ms: number): Promise<void>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** Round-trip to the launcher; resolves when it answered. */
  ping(): Promise<void>;
  /** Sends one raw protocol line; resolves on OK, rejects on ERR. */
  command(line: string): Promise<void>;
  /** Closes stdin, waits for the exit, SIGKILLs after stopTimeoutMs. Idempotent. */
  stop(): Promise<void>;
}

let building: Promise<string> | undefined;

/**
 * Compiles the launcher into <repo>/.build/mock-broker unless it is newer
 * than its source. Concurrent callers in one process share one compile;
 * several processes each compile to a private temporary name and rename it
 * into place, which is atomic, so none ever runs a half-written binary.
 */
export async function buildMockBroker(): Promise<string> {
  building ??= compileIfStale().finally(() => {
    building = undefined;
  });
  return building;
}

async function compileIfStale(): Promise<string> {
  requirePrerequisites('gcc', 'librdkafka');
  const source = await stat(SOURCE).catch((err: unknown) => {
    throw new Error(`mock-broker source not found at ${SOURCE}: ${String(err)}`);
  });
  const binary = await stat(BINARY).catch(() => undefined);
  if (binary && binary.mtimeMs >= source.mtimeMs) return BINARY;

  await mkdir(dirname(BINARY), { recursive: true });
  const tmp = `${BINARY}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await runGcc(['-O2', '-Wall', '-Wextra', '-o', tmp, SOURCE, '-lrdkafka']);
    await rename(tmp, BINARY);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return BINARY;
}

function runGcc(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'gcc',
      args,
      { timeout: COMPILE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
      (err: ExecFileException | null, _stdout: string, stderr: string) => {
        if (!err) return resolve();
        if (err.code === 'ENOENT') {
          return reject(new Error(`Cannot build the Kafka mock broker: gcc not found; ${INSTALL_HINT}`));
        }
        if (err.killed) {
          return reject(new Error(`Cannot build the Kafka mock broker: gcc did not finish within ${COMPILE_TIMEOUT_MS} ms`));
        }
        if (/rdkafka(_mock)?\.h|-lrdkafka|undefined reference to `rd_kafka/.test(stderr)) {
          return reject(
            new Error(`Cannot build the Kafka mock broker: librdkafka headers or library missing; ${INSTALL_HINT}\n${stderr.trim()}`),
          );
        }
        reject(new Error(`Cannot build the Kafka mock broker (gcc ${args.join(' ')}):\n${stderr.trim() || err.message}`));
      },
    );
  });
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Starts a mock cluster (building the launcher first if needed) and resolves
 * once it reported READY with its topics created.
 */
export async function startMockCluster(opts: MockClusterOptions): Promise<MockCluster> {
  const brokerCount = opts.brokers ?? 1;
  const startTimeoutMs = opts.startTimeoutMs ?? scaled(60_000);
  const commandTimeoutMs = opts.commandTimeoutMs ?? scaled(60_000);
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5_000;

  const args = ['--brokers', String(brokerCount)];
  for (const t of opts.topics) args.push('--topic', `${t.name}:${t.partitions}`);

  const binary = await buildMockBroker();
  const child: ChildProcessWithoutNullStreams = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_KEEP_CHARS);
  });
  // Writing to a child that just died raises EPIPE here; the 'close' handler
  // reports that to the caller with the child's stderr, which says more.
  child.stdin.on('error', () => {});

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitListeners = new Set<() => void>();
  const exitedPromise = new Promise<void>((resolve) => {
    // 'close', not 'exit': it comes once stdout/stderr are drained as well,
    // so the stderr we quote in errors is complete.
    child.once('close', (code, signal) => {
      exited = { code, signal };
      resolve();
      for (const listener of exitListeners) listener();
    });
  });
  child.once('error', (err) => {
    spawnError = err;
    for (const listener of exitListeners) listener();
  });

  const describeExit = (): string => {
    if (spawnError) return `could not be started: ${spawnError.message}`;
    if (!exited) return 'is not running';
    const how = exited.signal ? `signal ${exited.signal}` : `code ${exited.code}`;
    return `exited (${how})${stderrTail.trim() ? `; stderr:\n${stderrTail.trim()}` : ''}`;
  };

  // Keep this process alive only while we wait for the child; see file header.
  let busy = 0;
  const setRef = (on: boolean): void => {
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown[]) {
      const h = handle as { ref?: () => void; unref?: () => void };
      if (on) h.ref?.();
      else h.unref?.();
    }
  };
  const acquire = (): void => {
    if (busy++ === 0) setRef(true);
  };
  const release = (): void => {
    if (--busy === 0) setRef(false);
  };

  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  let onLine: ((line: string) => void) | undefined;
  lines.on('line', (line) => onLine?.(line));

  // Start-up: exactly one READY line, or failure with the child's stderr.
  acquire();
  let bootstrap: string;
  try {
    bootstrap = await new Promise<string>((resolve, reject) => {
      const fail = (why: string): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`mock-broker ${why}`));
      };
      const timer = setTimeout(() => {
        fail(`did not report READY within ${startTimeoutMs} ms` + (stderrTail.trim() ? `; stderr:\n${stderrTail.trim()}` : ''));
      }, startTimeoutMs);
      const onExit = (): void => {
        cleanup();
        reject(new Error(`mock-broker ${describeExit()}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        exitListeners.delete(onExit);
        onLine = undefined;
      };
      exitListeners.add(onExit);
      onLine = (line) => {
        const match = /^READY (\S+)$/.exec(line);
        if (match?.[1]) {
          cleanup();
          resolve(match[1]);
        } else {
          fail(`wrote an unexpected start-up line: ${JSON.stringify(line)}`);
        }
      };
    });
  } catch (err) {
    await Promise.race([exitedPromise, delay(1000)]);
    release();
    lines.close();
    throw err;
  }
  release();

  // Commands: one at a time, each answered by exactly one line.
  let pending: Pending | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  const failPending = (err: Error): void => {
    const p = pending;
    if (!p) return;
    pending = undefined;
    clearTimeout(p.timer);
    release();
    p.reject(err);
  };
  exitListeners.add(() => failPending(new Error(`mock-broker ${describeExit()} before answering "${pending?.line}"`)));

  onLine = (line) => {
    const p = pending;
    if (!p) return; // nothing asked: cannot happen with this launcher, ignore
    pending = undefined;
    clearTimeout(p.timer);
    release();
    if (line === 'OK') p.resolve();
    else p.reject(new Error(`mock-broker command "${p.line}" failed: ${line.replace(/^ERR /, '')}`));
  };

  const send = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (exited || spawnError) return reject(new Error(`mock-broker ${describeExit()}`));
      acquire();
      const timer = setTimeout(() => {
        // The answer may still come and would then be taken for the next
        // command's; a launcher this wedged is useless anyway, so end it.
        failPending(new Error(`mock-broker did not answer "${line}" within ${commandTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, commandTimeoutMs);
      pending = { line, resolve, reject, timer };
      child.stdin.write(`${line}\n`);
    });

  const command = (line: string): Promise<void> => {
    if (/[\r\n]/.test(line)) return Promise.reject(new TypeError('mock-broker command must be one line'));
    if (stopping) return Promise.reject(new Error(`mock-broker is stopped; cannot run "${line}"`));
    const run = tail.then(() => send(line));
    tail = run.catch(() => {});
    return run;
  };

  const int = (name: string, value: number): string => {
    if (!Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${value}`);
    return String(value);
  };
  const word = (name: string, value: string): string => {
    if (!/^\S+$/.test(value)) throw new TypeError(`${name} must be a non-empty string without spaces, got ${JSON.stringify(value)}`);
    return value;
  };
  // Argument errors become rejections, like every other failure here.
  const call = (build: () => string): Promise<void> => {
    let line: string;
    try {
      line = build();
    } catch (err) {
      return Promise.reject(err);
    }
    return command(line);
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      acquire();
      try {
        await tail; // let queued commands finish first
        if (!exited && !spawnError) {
          child.stdin.end();
          const timedOut = await Promise.race([exitedPromise.then(() => false), delay(stopTimeoutMs).then(() => true)]);
          if (timedOut && !exited) {
            child.kill('SIGKILL');
            await Promise.race([exitedPromise, delay(2000)]);
          }
        }
      } finally {
        lines.close();
        release();
      }
    })();
    return stopping;
  };

  const brokers = bootstrap.split(',');
  return {
    bootstrap,
    brokers,
    pid: child.pid ?? -1,
    get stderr() {
      return stderrTail;
    },
    brokerDown: (id) => call(() => `broker-down ${int('id', id)}`),
    brokerUp: (id) => call(() => `broker-up ${int('id', id)}`),
    pushRequestErrors: (apiKey, ...codes) =>
      call(() => {
        if (codes.length === 0) throw new TypeError('pushRequestErrors needs at least one error code');
        return `request-errors ${int('apiKey', apiKey)} ${codes.map((c) => int('error code', c)).join(' ')}`;
      }),
    setLeader: (topic, partition, brokerId) =>
      call(() => `leader ${word('topic', topic)} ${int('partition', partition)} ${int('brokerId', brokerId)}`),
    setRtt: (brokerId, ms) => call(() => `rtt ${int('brokerId', brokerId)} ${int('ms', ms)}`),
    createTopic: (name, partitions) => call(() => `create-topic ${word('name', name)} ${int('partitions', partitions)}`),
    ping: () => command('ping'),
    command,
    stop,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
}
