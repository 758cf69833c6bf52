/**
 * Preloaded into every test file's process by test/run.ts (`--import`): a test file as a whole
 * gets a deadline, besides each test's own (`--test-timeout`). Node's runner has none per file, and
 * a file whose hooks or tests leave something running could otherwise keep its process alive. When
 * the deadline passes, the file's process says so in one line and exits; everything it started
 * dies with it (lib/supervisor.ts kills its children on exit; the Kafka mock broker exits with its
 * parent).
 */
import { basename } from 'node:path';

const limitMs = Number(process.env['TEST_FILE_TIMEOUT_MS'] ?? '600000');
// Only in a file's own process, not in the runner that starts the files.
if (process.env['NODE_TEST_CONTEXT'] !== undefined && Number.isFinite(limitMs) && limitMs > 0) {
  const file = basename(process.argv[1] ?? 'test file');
  setTimeout(() => {
    process.stderr.write(
      `${file}: the test file did not finish within its ${limitMs / 1000} s limit (TEST_FILE_TIMEOUT_MS); stopping it\n`,
    );
    process.exit(1);
  }, limitMs).unref();
}
